/**
 * The GenAuth Pipeline function contract (SPEC §4), as the editor's IntelliSense sees it.
 *
 * A function is a script that defines `async function pipe(user, context, callback)`.
 * The editor types its parameters for the function's trigger without touching the code
 * (it completes `user.` and `context.` from a hidden copy that carries this JSDoc):
 *
 *   /** @param {GenAuth.User} user @param {GenAuth.Context<"PRE_REGISTER">} context @param {GenAuth.Callback} callback *\/
 *
 * Code that has the JSDoc itself gets the same types everywhere (hover, checks).
 * The editor adds `env` with the tenant's own variable names at run time.
 */

declare namespace GenAuth {
  type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

  /** Claims the platform sets itself; adding or removing them fails the step. */
  type ProtectedClaim = "iss" | "sub" | "aud" | "exp" | "iat" | "nbf" | "auth_time" | "nonce" | "jti" | "azp";

  /** The end user as the identity provider sent it, plus helpers (never part of the returned data). */
  interface User {
    id?: string;
    username?: string | null;
    email?: string | null;
    emailVerified?: boolean;
    phone?: string | null;
    phoneVerified?: boolean;
    name?: string | null;
    nickname?: string | null;
    givenName?: string | null;
    familyName?: string | null;
    photo?: string | null;
    company?: string | null;
    loginsCount?: number;
    lastLogin?: string | null;
    signedUp?: string | null;
    blocked?: boolean;
    roles?: string[];
    groups?: string[];
    customData?: { [key: string]: Json };
    [field: string]: any;

    /** Stores `value` under `key` in the user's custom data (returned as `custom_data`). */
    addCustomData(key: string, value: Json): void;
    /** Adds a claim to the ID token. Only in PRE_OIDC_ID_TOKEN_ISSUED. */
    addIdToken(key: string, value: Json): void;
    /** Removes a claim from the ID token. Only in PRE_OIDC_ID_TOKEN_ISSUED. */
    removeIdToken(key: string): void;
    /** Adds a claim to the access token. Only in PRE_OIDC_ACCESS_TOKEN_ISSUED. */
    addAccessToken(key: string, value: Json): void;
    /** Removes a claim from the access token. Only in PRE_OIDC_ACCESS_TOKEN_ISSUED. */
    removeAccessToken(key: string): void;
  }

  interface Application {
    id: string;
    name: string;
  }

  interface Request {
    hostname?: string;
    path?: string;
    query?: { [name: string]: string };
    headers?: { [name: string]: string };
  }

  /** What every trigger's context carries. */
  interface BaseContext {
    /** The identity provider's id for this request. */
    requestId?: string;
    /** The end user's IP address. */
    ip?: string;
    userAgent?: string;
    /** e.g. "oidc", "oauth2", "saml", "cas", "ldap". */
    protocol?: string;
    /** The identity source, e.g. "email-password", "github", "corp-ldap". */
    connection?: string;
    application?: Application;
    userPoolId?: string;
    request?: Request;
    [field: string]: any;
  }

  interface PreRegisterContext extends BaseContext {
    /** How the person is registering: "email-password", "phone-code", "social", ... */
    registerMethod?: string;
  }

  interface PostRegisterContext extends PreRegisterContext {}

  interface AuthenticationContext extends BaseContext {
    /** How the person signed in: "password", "phone-code", "social", "passkey", ... */
    loginMethod?: string;
  }

  interface TokenContext extends BaseContext {
    clientId?: string;
    grantType?: "authorization_code" | "refresh_token" | "client_credentials" | "password" | string;
    scope?: string;
    audience?: string;
  }

  interface AccessTokenContext extends TokenContext {
    /** "programmaticAccount" for machine-to-machine tokens, where `user` is `{}`. */
    accessTokenTarget?: "user" | "programmaticAccount";
  }

  interface CompleteUserInfoContext extends BaseContext {
    /** The profile fields the person submitted. */
    fields?: { [field: string]: Json };
  }

  interface MfaContext extends BaseContext {
    mfa?: { factor: "totp" | "sms" | "email" | "webauthn" | string; phone?: string; email?: string };
  }

  interface Contexts {
    PRE_REGISTER: PreRegisterContext;
    POST_REGISTER: PostRegisterContext;
    PRE_AUTHENTICATION: AuthenticationContext;
    POST_AUTHENTICATION: AuthenticationContext;
    PRE_OIDC_ID_TOKEN_ISSUED: TokenContext;
    PRE_OIDC_ACCESS_TOKEN_ISSUED: AccessTokenContext;
    PRE_COMPLETE_USER_INFO: CompleteUserInfoContext;
    PRE_MFA_VERIFY: MfaContext;
    POST_MFA_VERIFY: MfaContext;
  }

  type Trigger = keyof Contexts;
  type Context<T extends Trigger = Trigger> = Contexts[T];

  /** An error passed to `callback` denies: `message` may be shown to the end user. */
  interface DenyError extends Error {
    /** Machine-readable code for the identity provider (default "access_denied"). */
    code?: string;
  }

  /**
   * `callback(null, user, context)` passes the objects on to the next function
   * (omitted ones mean unchanged); `callback(error)` denies and stops the flow.
   * Call it once: a second call is ignored with a warning.
   */
  type Callback = (error: DenyError | Error | null | undefined, user?: User, context?: BaseContext) => void;

  /** The function every script defines. */
  type Pipe<T extends Trigger = Trigger> = (user: User, context: Context<T>, callback: Callback) => Promise<void> | void;

  interface AxiosResponse<T = any> {
    status: number;
    data: T;
    headers: { [name: string]: string };
  }

  interface AxiosConfig {
    url?: string;
    method?: "get" | "post" | "put" | "patch" | "delete" | string;
    headers?: { [name: string]: string };
    params?: { [name: string]: string | number | boolean };
    data?: unknown;
    /** Milliseconds; capped by the platform (5 s per request). */
    timeout?: number;
  }

  interface Axios {
    get<T = any>(url: string, config?: AxiosConfig): Promise<AxiosResponse<T>>;
    delete<T = any>(url: string, config?: AxiosConfig): Promise<AxiosResponse<T>>;
    post<T = any>(url: string, data?: unknown, config?: AxiosConfig): Promise<AxiosResponse<T>>;
    put<T = any>(url: string, data?: unknown, config?: AxiosConfig): Promise<AxiosResponse<T>>;
    patch<T = any>(url: string, data?: unknown, config?: AxiosConfig): Promise<AxiosResponse<T>>;
    request<T = any>(config: AxiosConfig & { url: string }): Promise<AxiosResponse<T>>;
  }

  interface Utils {
    /** True when `ip` (IPv4 or IPv6) is inside one of `ranges` (addresses or CIDR blocks). */
    ipRangeCheck(ip: string, ranges: string | string[]): boolean;
  }

  interface FetchInit {
    method?: string;
    headers?: { [name: string]: string };
    body?: string;
  }

  interface FetchResponse {
    readonly ok: boolean;
    readonly status: number;
    readonly statusText: string;
    readonly url: string;
    readonly headers: { get(name: string): string | null };
    json<T = any>(): Promise<T>;
    text(): Promise<string>;
  }

  interface Console {
    log(...data: unknown[]): void;
    info(...data: unknown[]): void;
    warn(...data: unknown[]): void;
    error(...data: unknown[]): void;
    debug(...data: unknown[]): void;
  }
}

/** Captured per step with level and time; shown in the test panel and the run record. */
declare const console: GenAuth.Console;
/** Authing's logger: the same as `console.log`. */
declare function log(...data: unknown[]): void;
/** Outbound HTTP (10 requests per run, 5 s each, 1 MiB per response). */
declare function fetch(url: string, init?: GenAuth.FetchInit): Promise<GenAuth.FetchResponse>;
/** A subset of axios for outbound HTTP, resolving to `{status, data, headers}`. */
declare const axios: GenAuth.Axios;
declare const utils: GenAuth.Utils;
/** Only './utils' (or 'utils') may be required. */
declare function require(name: "./utils" | "utils"): GenAuth.Utils;

declare function setTimeout(handler: (...args: any[]) => void, ms?: number, ...args: any[]): number;
declare function clearTimeout(id: number | undefined): void;
declare function queueMicrotask(callback: () => void): void;
declare function structuredClone<T>(value: T): T;
declare function atob(data: string): string;
declare function btoa(data: string): string;
declare const crypto: { randomUUID(): string };

declare class URL {
  constructor(url: string, base?: string | URL);
  hash: string;
  host: string;
  hostname: string;
  href: string;
  readonly origin: string;
  pathname: string;
  port: string;
  protocol: string;
  search: string;
  readonly searchParams: URLSearchParams;
  toString(): string;
}
declare class URLSearchParams {
  constructor(init?: string | { [name: string]: string });
  get(name: string): string | null;
  getAll(name: string): string[];
  has(name: string): boolean;
  set(name: string, value: string): void;
  append(name: string, value: string): void;
  delete(name: string): void;
  toString(): string;
}
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string);
  decode(input?: Uint8Array): string;
}

declare namespace GenAuth {
  interface Utils {
    /**
     * A two-element array of plain addresses of one family with start <= end is an inclusive
     * range: `utils.ipRangeCheck("110.53.254.100", ["110.53.254.1", "110.53.254.255"])` is true.
     * CIDR blocks, single addresses and longer lists are a list of ranges, as before.
     */
    ipRangeCheck(ip: string, range: [start: string, end: string]): boolean;
  }
}

/**
 * Auth0 Rules and Actions run unmodified (README "Migrating from Authing / Auth0"). For
 * completions in an Action, type its parameters with JSDoc:
 *
 *   /** @param {Auth0.PostLoginEvent} event @param {Auth0.PostLoginAPI} api *\/
 *   exports.onExecutePostLogin = async (event, api) => { ... };
 */
declare namespace Auth0 {
  interface User {
    user_id?: string;
    email?: string | null;
    email_verified?: boolean;
    username?: string | null;
    name?: string | null;
    nickname?: string | null;
    given_name?: string | null;
    family_name?: string | null;
    picture?: string | null;
    phone_number?: string | null;
    phone_verified?: boolean;
    created_at?: string | null;
    updated_at?: string | null;
    last_login?: string | null;
    logins_count?: number;
    blocked?: boolean;
    identities?: any[];
    app_metadata: { [key: string]: GenAuth.Json };
    user_metadata: { [key: string]: GenAuth.Json };
  }
  interface Request {
    ip?: string;
    hostname?: string;
    method?: string;
    user_agent?: string;
    language?: string;
    query: { [key: string]: any };
    body: { [key: string]: any };
    geoip: { [key: string]: any };
  }
  interface BaseEvent {
    request: Request;
    client: { client_id?: string; name?: string; metadata: { [key: string]: string } };
    tenant: { id?: string };
    transaction: { protocol?: string; requested_scopes: string[]; redirect_uri?: string; locale?: string };
    resource_server: { identifier?: string };
    /** The tenant's env vars and secrets. */
    secrets: { readonly [name: string]: string };
  }
  interface PostLoginEvent extends BaseEvent {
    user: User;
    connection: { id?: string; name?: string; strategy?: string };
    authorization: { roles: string[] };
    stats: { logins_count?: number };
    authentication: { methods: { name: string; timestamp: string }[] };
    organization?: any;
  }
  interface PreUserRegistrationEvent extends BaseEvent {
    user: User;
    connection: { id?: string; name?: string; strategy?: string };
  }
  type PostUserRegistrationEvent = PreUserRegistrationEvent;
  interface CredentialsExchangeEvent extends BaseEvent {
    accessToken: { scope: string[]; customClaims: { [key: string]: any } };
  }
  interface CacheWriteResult {
    type: "success" | "error";
    code?: string;
    record?: { value: string; expires_at: number };
  }
  interface Cache {
    get(key: string): { value: string; expires_at: number } | undefined;
    set(key: string, value: string, options?: { ttl?: number; expires_at?: number }): CacheWriteResult;
    delete(key: string): CacheWriteResult;
  }
  interface UserAPI<Self> {
    setAppMetadata(key: string, value: GenAuth.Json | undefined): Self;
    setUserMetadata(key: string, value: GenAuth.Json | undefined): Self;
  }
  interface PostLoginAPI {
    access: { deny(reason: string): PostLoginAPI };
    idToken: { setCustomClaim(name: string, value: GenAuth.Json): PostLoginAPI };
    accessToken: {
      setCustomClaim(name: string, value: GenAuth.Json): PostLoginAPI;
      addScope(scope: string): PostLoginAPI;
      removeScope(scope: string): PostLoginAPI;
    };
    user: UserAPI<PostLoginAPI>;
    validation: { error(code: string, message: string): PostLoginAPI };
    cache: Cache;
  }
  interface PreUserRegistrationAPI {
    access: { deny(reason: string, userMessage?: string): PreUserRegistrationAPI };
    user: UserAPI<PreUserRegistrationAPI>;
    validation: { error(code: string, message: string): PreUserRegistrationAPI };
    cache: Cache;
  }
  interface PostUserRegistrationAPI {
    cache: Cache;
  }
  interface CredentialsExchangeAPI {
    access: { deny(code: "invalid_scope" | "invalid_request" | "server_error" | string, reason?: string): CredentialsExchangeAPI };
    accessToken: { setCustomClaim(name: string, value: GenAuth.Json): CredentialsExchangeAPI };
    cache: Cache;
  }
}

/** Auth0 Rules: the tenant's env vars and secrets. */
declare const configuration: { readonly [name: string]: string };
/** Auth0 Rules: `callback(new UnauthorizedError(message))` denies with code `unauthorized`. */
declare class UnauthorizedError extends Error {
  constructor(message?: string);
  code: "unauthorized";
}
/** Auth0 Rules: saving the current user's metadata (the rest of Auth0's object is not available). */
declare const auth0: {
  users: {
    updateAppMetadata(userId: string, metadata: { [key: string]: GenAuth.Json }): Promise<void>;
    updateUserMetadata(userId: string, metadata: { [key: string]: GenAuth.Json }): Promise<void>;
  };
};
/** Node's name for the global object; the tenant's own. */
declare const global: typeof globalThis;
declare function require(name: "lodash"): any;
