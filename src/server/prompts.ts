/** The `write_tool` prompt: how an agent writes a good toolsmith tool. */
import type { GetPromptResult, Prompt } from '@modelcontextprotocol/sdk/types.js';

export const WRITE_TOOL_PROMPT: Prompt = {
  name: 'write_tool',
  title: 'Write a toolsmith tool',
  description:
    'How to write, test and publish a new tool with create_tool: search first, the function shape, types that become the schema, tests that cover errors.',
  arguments: [{ name: 'task', description: 'What the new tool should do', required: false }],
};

export function writeToolPrompt(task: string | undefined): GetPromptResult {
  const text = `You can extend your own toolset with toolsmith. ${task ? `The task: ${task}\n\n` : ''}Follow these steps.

1. Search first. Call search_tools with a few words describing the task. If a tool already does it, call that tool (directly, or with run_tool). If one nearly does it, read it with get_tool and publish an improved version with create_tool and replace: true. A new tool that closely resembles an existing one is refused at stage duplicate; pass allowSimilar: true only if it really does something different.

2. Write one TypeScript function named exactly like the tool (lowercase, digits, underscores):

   /** Converts a temperature between scales. */
   export function convert_temperature(input: {
     /** The temperature to convert. */
     value: number;
     /** Scale of value. */
     from: "C" | "F" | "K";
     /** Scale to convert to. */
     to: "C" | "F" | "K";
     /** Decimal places to round to (default 2). */
     decimals?: number;
   }): number {
     if (!Number.isFinite(input.value)) throw new Error("value must be a finite number");
     ...
   }

   - Exactly one parameter, an object type: its properties are the tool's arguments. Its TypeScript type
     becomes the JSON Schema clients see: literal unions become enums, \`?\` makes a property optional, and a
     /** JSDoc comment */ on a property becomes its description. Write them: they are how a model learns to call the tool.
   - Return JSON: numbers, strings, booleans, null, arrays and plain objects. Return an object type when the
     result has several parts; clients then get structured output. async functions are fine.
   - Only ECMAScript built-ins exist (Math, JSON, Date, RegExp, Map, Set, typed arrays; no Intl).
     There is no network, file system, process, timers, imports, eval or Function: a tool is a pure computation.
   - Validate inputs and throw new Error("...") with a clear message for bad ones.

3. Write tests that pin the behaviour: typical inputs with their exact expected results
   ({ "input": {...}, "expected": ... }), edge cases (empty, zero, boundaries), and at least one input the
   tool must refuse ({ "input": {...}, "error": "text the message contains" }). Every test must pass before the
   tool is published; numbers are compared with a 1e-9 relative tolerance.

4. Call create_tool { name, description, source, tests }. If it is refused, the answer names the stage
   (arguments, parse, screen, typecheck, schema, duplicate, tests, limits, conflict) and the line:column; fix exactly that and retry.
   The description should say what the tool does and when to use it.

5. The new tool appears in the tool list at once. If your client does not refresh its tool list, call it with run_tool { name, arguments }.`;
  return {
    description: WRITE_TOOL_PROMPT.description,
    messages: [{ role: 'user', content: { type: 'text', text } }],
  };
}
