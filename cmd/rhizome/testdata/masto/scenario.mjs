// A real Mastodon client against two running Rhizome instances.
//
// TestMastoClient (cmd/rhizome/masto_test.go) starts both instances and
// runs this script with:
//
//   RHIZOME_A_URL, RHIZOME_B_URL            base URLs, e.g. http://127.0.0.1:8080
//   RHIZOME_A_DOMAIN, RHIZOME_B_DOMAIN      the instances' domains, e.g. localhost:8080
//   RHIZOME_A_EMAIL, RHIZOME_A_PASSWORD, RHIZOME_A_USERNAME   a local account on A
//   RHIZOME_B_EMAIL, RHIZOME_B_PASSWORD, RHIZOME_B_USERNAME   a local account on B
//   RHIZOME_IMAGE                           a PNG file the test generated, to upload
//   MASTO_LOG (optional)                    masto's log level, e.g. "info" or "debug"
//
// Every check throws on failure; the script exits non-zero with the step
// that failed and, for an HTTP error, the request, status and error body.
// The last line on success is a one-line JSON summary.

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  createOAuthAPIClient,
  createRestAPIClient,
  createStreamingAPIClient,
  MastoHttpError,
} from "masto";

const OOB = "urn:ietf:wg:oauth:2.0:oob";
const SCOPES = "read write follow push";
const DEADLINE_MS = 30_000; // hang guard for federation, not a timed assertion

const mastoVersion = JSON.parse(
  readFileSync(new URL("./node_modules/masto/package.json", import.meta.url)),
).version;

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set`);
  return v;
}

function instance(p) {
  return {
    name: p,
    url: env(`RHIZOME_${p}_URL`).replace(/\/$/, ""),
    domain: env(`RHIZOME_${p}_DOMAIN`),
    email: env(`RHIZOME_${p}_EMAIL`),
    password: env(`RHIZOME_${p}_PASSWORD`),
    username: env(`RHIZOME_${p}_USERNAME`),
  };
}

const A = instance("A");
const B = instance("B");
const log = process.env.MASTO_LOG || undefined;

let current = "start";

// step runs one named part of the scenario, so a failure says where.
async function step(name, fn) {
  current = name;
  console.error(`step: ${name}`);
  return fn();
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// eventually polls fn until it returns a truthy value. The deadline is a
// hang guard only: federation between the two instances is asynchronous.
async function eventually(what, fn) {
  const end = Date.now() + DEADLINE_MS;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) {
      throw new Error(`gave up waiting for ${what} after ${DEADLINE_MS / 1000}s`);
    }
    await sleep(200);
  }
}

// --- OAuth: app registration and the authorization-code flow with PKCE ---

const base64url = (buf) => Buffer.from(buf).toString("base64url");

// decodeEntities undoes the HTML escaping html/template applies to text and
// attribute values.
function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (m, e) => {
    const l = e.toLowerCase();
    if (l.startsWith("#x")) return String.fromCodePoint(parseInt(l.slice(2), 16));
    if (l.startsWith("#")) return String.fromCodePoint(parseInt(l.slice(1), 10));
    return { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[l];
  });
}

function attributes(tag) {
  const attrs = {};
  for (const m of tag.matchAll(/([a-zA-Z_:-]+)(?:="([^"]*)")?/g)) {
    attrs[m[1].toLowerCase()] = m[2] === undefined ? "" : decodeEntities(m[2]);
  }
  return attrs;
}

// parseForm reads the sign-in form: its action, inputs and buttons.
function parseForm(html) {
  const form = html.match(/<form\b([^>]*)>([\s\S]*?)<\/form>/i);
  assert.ok(form, "the authorize page has no <form>");
  const tag = attributes(form[1]);
  const inputs = [...form[2].matchAll(/<input\b([^>]*)>/gi)].map((m) => attributes(m[1]));
  const buttons = [...form[2].matchAll(/<button\b([^>]*)>/gi)].map((m) => attributes(m[1]));
  return { method: (tag.method || "get").toLowerCase(), action: tag.action, inputs, buttons };
}

// signIn registers an app on the instance and gets a user token through
// the real authorization-code flow with PKCE S256, as a native app does:
// the person signs in on the HTML form and the app reads the code from the
// out-of-band page.
async function signIn(inst) {
  const anon = createRestAPIClient({ url: inst.url, log });
  const app = await step(`${inst.name}: POST /api/v1/apps`, () =>
    anon.v1.apps.create({
      clientName: "masto.js scenario",
      redirectUris: OOB,
      scopes: SCOPES,
      website: "https://example.org/scenario",
    }),
  );
  assert.equal(typeof app.clientId, "string");
  assert.equal(typeof app.clientSecret, "string");
  assert.ok(app.clientId && app.clientSecret, "app without credentials");
  assert.equal(app.name, "masto.js scenario");

  const verifier = base64url(randomBytes(32));
  const challenge = base64url(createHash("sha256").update(verifier).digest());
  const authorize = new URL("/oauth/authorize", inst.url);
  authorize.search = new URLSearchParams({
    response_type: "code",
    client_id: app.clientId,
    redirect_uri: OOB,
    scope: SCOPES,
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();

  const page = await step(`${inst.name}: GET /oauth/authorize`, async () => {
    const res = await fetch(authorize, { redirect: "manual" });
    const body = await res.text();
    assert.equal(res.status, 200, `GET ${authorize}: ${res.status}\n${body}`);
    assert.match(res.headers.get("content-type") || "", /^text\/html/);
    return { res, body };
  });
  const cookies = page.res.headers.getSetCookie();
  assert.ok(cookies.length > 0, "GET /oauth/authorize set no (CSRF) cookie");
  const cookie = cookies.map((c) => c.split(";")[0]).join("; ");
  const form = parseForm(page.body);
  assert.equal(form.method, "post");
  const formURL = new URL(form.action || authorize.pathname, authorize);
  const names = new Set(form.inputs.map((i) => i.name));
  for (const n of ["email", "password"]) assert.ok(names.has(n), `the form has no ${n} field`);
  const hidden = form.inputs.filter((i) => i.type === "hidden" && i.name);
  const csrf = hidden.find((i) => /csrf|authenticity/i.test(i.name));
  assert.ok(csrf && csrf.value, "the form has no hidden CSRF field");
  const approve = form.buttons.find((b) => b.name && /approve|authori[sz]e/i.test(b.value || ""));
  assert.ok(approve, "the form has no approve button");

  const fields = new URLSearchParams();
  for (const i of hidden) fields.append(i.name, i.value ?? "");
  fields.set("email", inst.email);
  fields.set("password", inst.password);
  fields.set(approve.name, approve.value);
  const post = (headers) =>
    fetch(formURL, {
      method: "POST",
      redirect: "manual",
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
      body: fields.toString(),
    });

  await step(`${inst.name}: POST /oauth/authorize without the CSRF cookie is refused`, async () => {
    const res = await post({});
    await res.text();
    assert.equal(res.status, 403, "a sign-in without the CSRF cookie was not refused with 403");
  });

  const code = await step(`${inst.name}: POST /oauth/authorize (sign in and approve)`, async () => {
    const res = await post({ Cookie: cookie });
    const body = await res.text();
    assert.equal(res.status, 200, `POST ${formURL}: ${res.status}\n${body}`);
    const m = body.match(/<[a-z]+\b[^>]*\bid="code"[^>]*>\s*([^<\s]+)\s*</i);
    assert.ok(m, `no code on the out-of-band page:\n${body}`);
    return decodeEntities(m[1]);
  });

  const oauth = createOAuthAPIClient({ url: inst.url, log });
  const exchange = () =>
    oauth.token.create({
      grantType: "authorization_code",
      clientId: app.clientId,
      clientSecret: app.clientSecret,
      redirectUri: OOB,
      code,
      codeVerifier: verifier,
      scope: SCOPES,
    });
  const token = await step(`${inst.name}: POST /oauth/token (authorization_code, PKCE S256)`, exchange);
  assert.equal(typeof token.accessToken, "string");
  assert.ok(token.accessToken.length > 0);
  assert.match(token.tokenType, /^bearer$/i);
  assert.deepEqual(token.scope.split(" ").sort(), SCOPES.split(" ").sort());
  assert.equal(typeof token.createdAt, "number");

  await step(`${inst.name}: the code is single-use`, async () => {
    await assert.rejects(exchange, (e) => e instanceof MastoHttpError && e.statusCode === 400);
  });

  return { rest: createRestAPIClient({ url: inst.url, accessToken: token.accessToken, log }), token: token.accessToken };
}

// nextEvent reads a streaming subscription until match accepts an event.
async function nextEvent(events, what, match) {
  const timer = setTimeout(() => events.return && events.return(), DEADLINE_MS); // hang guard
  try {
    for await (const e of events) {
      if (match(e)) return e;
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`the stream ended before ${what}`);
}

// --- the scenario ---

async function main() {
  const { rest: alice, token: aliceToken } = await signIn(A);
  const { rest: bob } = await signIn(B);
  const aliceAcctOnB = `${A.username}@${A.domain}`;
  const bobAcctOnA = `${B.username}@${B.domain}`;

  const aliceMe = await step("A: verify_credentials", () => alice.v1.accounts.verifyCredentials());
  assert.equal(aliceMe.username, A.username);
  assert.equal(aliceMe.acct, A.username);
  assert.equal(typeof aliceMe.id, "string");
  assert.ok(aliceMe.source, "verify_credentials has no source");
  const bobMe = await step("B: verify_credentials", () => bob.v1.accounts.verifyCredentials());
  assert.equal(bobMe.username, B.username);
  assert.equal(bobMe.acct, B.username);

  const first = await step("A: post a status", () =>
    alice.v1.statuses.create({ status: "Hello from Alice, before anyone follows.", visibility: "public" }),
  );
  assert.equal(first.account.id, aliceMe.id);
  assert.equal(first.visibility, "public");
  assert.match(first.content, /Hello from Alice/);

  const aliceOnB = await step(`B: v2 search resolves @${aliceAcctOnB}`, async () => {
    const res = await bob.v2.search.list({ q: `@${aliceAcctOnB}`, resolve: true, type: "accounts" });
    assert.ok(Array.isArray(res.accounts), "search result has no accounts list");
    const found = res.accounts.find((a) => a.acct === aliceAcctOnB);
    assert.ok(found, `@${aliceAcctOnB} not in ${JSON.stringify(res.accounts.map((a) => a.acct))}`);
    assert.equal(found.username, A.username);
    return found;
  });

  await step(`B: follow @${aliceAcctOnB}`, async () => {
    const rel = await bob.v1.accounts.$select(aliceOnB.id).follow();
    assert.equal(rel.id, aliceOnB.id);
    assert.ok(rel.following || rel.requested, `follow returned ${JSON.stringify(rel)}`);
  });
  await step("B: the follow is accepted (relationship.following)", () =>
    eventually("relationship following=true", async () => {
      const [rel] = await bob.v1.accounts.relationships.fetch({ id: [aliceOnB.id] });
      return rel && rel.id === aliceOnB.id && rel.following;
    }),
  );

  const second = await step("A: post again", () =>
    alice.v1.statuses.create({ status: "Second post from Alice, for my followers on other instances." }),
  );
  const secondOnB = await step("B: the post arrives in the home timeline", () =>
    eventually("alice's post in bob's home timeline", async () => {
      const home = await bob.v1.timelines.home.list({ limit: 40 });
      return home.find((s) => s.uri === second.uri);
    }),
  );
  assert.equal(secondOnB.account.acct, aliceAcctOnB);
  assert.match(secondOnB.content, /Second post from Alice/);

  // alice listens for notifications over the streaming API, at the URL
  // the instance advertises, with the token sent as masto sends it (in
  // Sec-WebSocket-Protocol).
  const streamingURL = await step("A: streaming URL from /api/v2/instance", async () => {
    const inst = await alice.v2.instance.fetch();
    assert.match(inst.configuration.urls.streaming, /^wss?:\/\//);
    assert.ok(inst.configuration.vapid.publicKey, "no VAPID key in the instance");
    assert.ok(inst.configuration.mediaAttachments.supportedMimeTypes.includes("image/png"));
    return inst.configuration.urls.streaming;
  });
  const streaming = createStreamingAPIClient({ streamingApiUrl: streamingURL, accessToken: aliceToken, retry: false, log });
  const notifications = streaming.user.notification.subscribe();
  await step("A: streaming health", async () => {
    const health = await fetch(`${A.url}/api/v1/streaming/health`);
    assert.equal(await health.text(), "OK");
  });
  // Start reading now: masto connects when the iteration starts. The
  // mention comes after an upload, a post and a delivery.
  let reply;
  const mentioned = nextEvent(notifications.values(), "the mention notification", (e) =>
    e.event === "notification" && e.payload.type === "mention" && e.payload.status.mediaAttachments.length > 0);
  await sleep(300); // let the subscription reach the server before the mention

  const alt = "A small test picture: a gradient";
  const picture = await step("B: upload an image with alt text (v2/media)", async () => {
    const file = new Blob([readFileSync(env("RHIZOME_IMAGE"))], { type: "image/png" });
    let m = await bob.v2.media.create({ file, description: alt, focus: "0.25,-0.5" });
    m = await eventually("the upload processed", async () => {
      const cur = m.url ? m : await bob.v1.media.$select(m.id).fetch();
      return cur.url && cur;
    });
    assert.equal(m.type, "image");
    assert.equal(m.description, alt);
    assert.ok(m.blurhash, "no blurhash");
    assert.equal(m.meta.focus.x, 0.25);
    return m;
  });

  reply = await step("B: reply mentioning alice, with the picture", () =>
    bob.v1.statuses.create({ status: `@${aliceAcctOnB} Welcome, nice post!`, inReplyToId: secondOnB.id, mediaIds: [picture.id] }),
  );
  assert.equal(reply.mediaAttachments.length, 1);
  assert.equal(reply.mediaAttachments[0].description, alt);

  const live = await step("A: the mention arrives over the streaming API", () => mentioned);
  notifications.unsubscribe();
  streaming.close();
  assert.equal(live.payload.status.uri, reply.uri);
  const liveAttachment = live.payload.status.mediaAttachments[0];
  assert.ok(liveAttachment, "the streamed mention has no attachment");
  assert.equal(liveAttachment.description, alt);
  assert.equal(liveAttachment.blurhash, picture.blurhash);
  assert.equal(liveAttachment.remoteUrl, picture.url);
  assert.equal(reply.inReplyToId, secondOnB.id);
  assert.ok(
    reply.mentions.some((m) => m.acct === aliceAcctOnB),
    `reply mentions ${JSON.stringify(reply.mentions)}`,
  );

  await step("B: favourite", async () => {
    const s = await bob.v1.statuses.$select(secondOnB.id).favourite();
    assert.equal(s.id, secondOnB.id);
    assert.equal(s.favourited, true);
  });
  await step("B: reblog", async () => {
    const s = await bob.v1.statuses.$select(secondOnB.id).reblog();
    assert.ok(s.reblog, `reblog returned a status without reblog: ${JSON.stringify(s)}`);
    assert.equal(s.reblog.id, secondOnB.id);
    assert.equal(s.reblog.reblogged, true, "the reblogged status's reblogged is not true");
    assert.equal(s.reblog.reblogsCount, 1, "the reblogged status's reblogs_count is not 1");
  });

  const wanted = ["follow", "mention", "favourite", "reblog"];
  const notes = await step(`A: notifications ${wanted.join(", ")}`, () =>
    eventually(`notifications ${wanted.join(", ")}`, async () => {
      const list = await alice.v1.notifications.list({ limit: 40 });
      const byType = Object.fromEntries(list.map((n) => [n.type, n]));
      return wanted.every((t) => byType[t]) && byType;
    }),
  );
  for (const t of wanted) {
    assert.equal(notes[t].account.acct, bobAcctOnA, `${t} notification from ${notes[t].account.acct}`);
  }
  assert.equal(notes.mention.status.inReplyToId, second.id);
  assert.equal(notes.favourite.status.id, second.id);
  assert.equal(notes.reblog.status.id, second.id);

  await step("A: the reply is in the post's context", async () => {
    const ctx = await alice.v1.statuses.$select(second.id).context.fetch();
    assert.ok(
      ctx.descendants.some((s) => s.uri === reply.uri),
      `descendants ${JSON.stringify(ctx.descendants.map((s) => s.uri))}`,
    );
  });

  const pages = await step("B: page the home timeline with limit=1", async () => {
    const ids = [];
    let n = 0;
    for await (const page of bob.v1.timelines.home.list({ limit: 1 })) {
      assert.ok(page.length <= 1, `page of ${page.length} statuses with limit=1`);
      ids.push(...page.map((s) => s.id));
      if (++n > 20) throw new Error("more than 20 pages of one status: paging does not end");
    }
    for (let i = 1; i < ids.length; i++) {
      assert.ok(BigInt(ids[i]) < BigInt(ids[i - 1]), `ids not descending: ${ids}`);
    }
    assert.ok(ids.includes(secondOnB.id), `alice's post not in the pages: ${ids}`);
    assert.ok(ids.includes(reply.id), `bob's reply not in the pages: ${ids}`);
    // The page after the newest, by max_id, starts with the second entry.
    const next = await bob.v1.timelines.home.list({ limit: 1, maxId: ids[0] });
    assert.deepEqual(next.map((s) => s.id), ids.slice(1, 2));
    return ids.length;
  });

  const doomedText = "A post Alice will delete and redraft.";
  const doomed = await step("A: post one to delete", () => alice.v1.statuses.create({ status: doomedText }));
  await step("A: delete returns the source text", async () => {
    const deleted = await alice.v1.statuses.$select(doomed.id).remove();
    assert.equal(deleted.id, doomed.id);
    assert.equal(deleted.text, doomedText);
    await assert.rejects(
      () => alice.v1.statuses.$select(doomed.id).fetch(),
      (e) => e instanceof MastoHttpError && e.statusCode === 404,
    );
  });

  console.log(
    JSON.stringify({
      ok: true,
      masto: mastoVersion,
      node: process.version,
      a: { url: A.url, account: aliceMe.acct },
      b: { url: B.url, account: bobMe.acct },
      resolved: aliceOnB.acct,
      notifications: wanted,
      streamed: live.payload.type,
      uploaded: picture.type,
      home_pages: pages,
      deleted: doomed.id,
    }),
  );
}

main().catch((err) => {
  console.error(`FAILED at step: ${current}`);
  if (err instanceof MastoHttpError) {
    const res = err.cause;
    const where = res && res.url ? ` ${res.url}` : "";
    console.error(`HTTP ${err.statusCode}${where}: ${err.message}`);
    if (err.description) console.error(`  description: ${err.description}`);
    if (err.additionalProperties && Object.keys(err.additionalProperties).length) {
      console.error(`  body: ${JSON.stringify(err.additionalProperties)}`);
    }
  }
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
