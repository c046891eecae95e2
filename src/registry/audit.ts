/**
 * The audit log: every create, replace, rollback, delete, quarantine and release, with time, tool,
 * version, source hash and the MCP client that asked. Appended to the store as it happens; read newest
 * first, in pages.
 */
import type { AuditAction, AuditEntry } from '../store/record.js';
import type { ToolStore } from '../store/tool-store.js';

export interface Actor {
  readonly name: string;
  readonly version: string;
}

export class AuditLog {
  private readonly entries: AuditEntry[] = [];
  private readonly store: ToolStore;
  private readonly clock: () => Date;

  constructor(store: ToolStore, clock: () => Date) {
    this.store = store;
    this.clock = clock;
  }

  load(entries: readonly AuditEntry[]): void {
    this.entries.push(...entries);
  }

  async append(
    action: AuditAction,
    tool: string,
    version: number,
    sourceHash: string,
    client: Actor | null,
    detail?: string,
  ): Promise<AuditEntry> {
    const entry: AuditEntry = {
      seq: (this.entries.at(-1)?.seq ?? 0) + 1,
      at: this.clock().toISOString(),
      action,
      tool,
      version,
      sourceHash,
      client: client ? { name: client.name, version: client.version } : null,
      ...(detail ? { detail } : {}),
    };
    this.entries.push(entry);
    await this.store.appendAudit(entry);
    return entry;
  }

  /** Page `page` (1-based) of `pageSize` entries, newest first. */
  page(page: number, pageSize: number): { entries: AuditEntry[]; total: number; hasMore: boolean } {
    const end = this.entries.length - (page - 1) * pageSize;
    const start = Math.max(0, end - pageSize);
    const entries = end > 0 ? this.entries.slice(start, end).reverse() : [];
    return { entries, total: this.entries.length, hasMore: start > 0 };
  }

  forTool(tool: string): AuditEntry[] {
    return this.entries.filter((e) => e.tool === tool).reverse();
  }
}
