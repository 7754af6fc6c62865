/**
 * What the guide's snippets assume exists (clients, helpers, the app), declared so that
 * doc-snippets.ts can be type-checked. Only types: nothing here runs.
 */

declare const notionClient: any;
declare const trelloClient: any;
declare const slackClient: any;
declare const databaseId: string;

/** An Express app, as far as the guide uses it (so `(req, res) => ...` gets its types). */
interface ExpressLikeResponse {
  status(code: number): ExpressLikeResponse;
  json(body: unknown): ExpressLikeResponse;
}
declare const app: {
  get(path: string, handler: (req: unknown, res: ExpressLikeResponse) => void): void;
};
declare const alerting: any;
declare const metrics: any;

/** `import logger from '../utils/logger'` in the guide. */
declare const logger: {
  info(message: string, meta?: unknown): void;
  warn(message: string, meta?: unknown): void;
  error(message: string, meta?: unknown): void;
};

/** `import * as retry from './workflows/retry-manager'` in the guide. */
declare const retry: {
  Platform: { readonly NOTION: 'notion'; readonly TRELLO: 'trello'; readonly SLACK: 'slack' };
  retry<T>(fn: () => Promise<T>, options: { platform: 'notion' | 'trello' | 'slack'; operation: string }): Promise<T>;
};

/** `import * as idempotency from './idempotency-manager'` in the guide. */
declare const idempotency: {
  executeWithIdempotency<T>(reasoning: string, fn: () => Promise<T>): Promise<T>;
};

declare function sleep(ms: number): Promise<void>;
declare function assert(condition: unknown, message?: string): asserts condition;
declare function executeTool(toolName: string, args: unknown): Promise<any>;

interface Task {
  title: string;
}

interface WorkflowStep {
  tool: string;
  args: unknown;
}

// Composition snippets (Bulkhead, Retry, Fallback; executeOrThrow, wrap, wrapClient).
declare const drive: any;
declare const notion: any;
declare const args: unknown;
declare const query: string;
declare const pageId: string;
declare const tasksId: string;
declare const properties: Record<string, unknown>;
declare const token: string;
/** `import { Client } from '@notionhq/client'`, as far as the guide uses it. */
declare class Client {
  constructor(options: { auth?: string });
  pages: { create(args: unknown): Promise<any>; retrieve(args: unknown): Promise<any> };
  dataSources: { query(args: unknown): Promise<any> };
}
/** `import { WebClient } from '@slack/web-api'`, as far as the guide uses it. */
declare class WebClient {
  constructor(token?: string);
  chat: { postMessage(args: { channel: string; text: string }): Promise<any> };
}
