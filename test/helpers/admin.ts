import { randomBytes } from 'node:crypto';
import { addOperator } from '../../src/admin/access/operators.js';
import { Shopper } from './shopper.js';
import { deliveredText } from './sign-in.js';
import type { TestStore } from './store.js';

export const OPERATOR_PASSWORD = 'correct horse battery staple';

export interface OperatorLogin {
  id: number;
  email: string;
  password: string;
}

/** A new operator, made by the function `npx store operator add` uses. */
export async function createOperator(store: TestStore, options: { email?: string; password?: string } = {}): Promise<OperatorLogin> {
  const email = options.email ?? `operator-${randomBytes(4).toString('hex')}@admin.example`;
  const password = options.password ?? OPERATOR_PASSWORD;
  const id = await addOperator(store.database.db, { email, password }, new Date());
  return { id, email, password };
}

/** The newest sign-in code emailed to `email`, read from the outbox (the worker may or may not have sent it yet). */
export async function latestOperatorCode(store: TestStore, email: string): Promise<string> {
  const row = await store.database.db
    .selectFrom('outbox')
    .select(['subject', 'status'])
    .where('recipient', '=', email)
    .orderBy('id', 'desc')
    .executeTakeFirst();
  // Once sent, the outbox keeps no code: the test's SMTP server has it.
  const subject = row?.status === 'sent' ? await deliveredText(store, email) : row?.subject;
  const code = subject?.match(/\b(\d{6})\b/)?.[1];
  if (!code) throw new Error(`no sign-in code was queued for ${email}`);
  return code;
}

/** Signs `login` in through the real pages: email and password, then the emailed code. */
export async function signInWith(store: TestStore, login: OperatorLogin, browser = new Shopper(store.baseUrl)): Promise<Shopper> {
  await browser.get('/admin/sign-in');
  const afterPassword = await browser.post('/admin/sign-in', { email: login.email, password: login.password });
  if (afterPassword.status !== 303) throw new Error(`password step answered ${afterPassword.status}`);
  await browser.get('/admin/sign-in/code');
  const afterCode = await browser.post('/admin/sign-in/code', { code: await latestOperatorCode(store, login.email) });
  if (afterCode.status !== 303 || afterCode.location !== '/admin') throw new Error(`code step answered ${afterCode.status}`);
  return browser;
}

/** A new operator, signed in: the browser holds an admin session. */
export async function signInAsOperator(store: TestStore): Promise<Shopper> {
  return signInWith(store, await createOperator(store));
}

export interface AdminRoute {
  method: 'get' | 'post';
  path: string;
}

interface Layer {
  name?: string;
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

export interface AppRoute extends AdminRoute {
  /** Mounted before the session middleware: such a route proves its sender otherwise (signatures, a signed token). */
  beforeSessions: boolean;
}

/**
 * Every GET and POST route the running app serves, in mounting order, found by walking Express's
 * router stack, so the authorisation and CSRF tests cover routes added later without a list.
 */
export function appRoutesOf(store: TestStore): AppRoute[] {
  const found: AppRoute[] = [];
  let sessions = false;
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.name === 'session') sessions = true;
      if (layer.route) {
        for (const path of [layer.route.path].flat()) {
          for (const method of ['get', 'post'] as const)
            if (layer.route.methods[method]) found.push({ method, path, beforeSessions: !sessions });
        }
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((store.app as unknown as { router: { stack: Layer[] } }).router.stack);
  return found;
}

/** Every GET and POST route under /admin. */
export function adminRoutesOf(store: TestStore): AdminRoute[] {
  return appRoutesOf(store)
    .filter((route) => route.path.startsWith('/admin'))
    .map(({ method, path }) => ({ method, path }));
}

/** The sign-in pages: the only admin routes a visitor without an admin session may reach. */
export const PUBLIC_ADMIN_PATHS = ['/admin/sign-in', '/admin/sign-in/code'];

/** A route's path with each `:param` filled in (a real value where the test has one). */
export function fillPath(path: string, values: Record<string, string> = {}): string {
  return path.replace(/:(\w+)/g, (_m, name: string) => encodeURIComponent(values[name] ?? '1'));
}
