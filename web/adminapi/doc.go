// Package adminapi lets the rhizome CLI administer a running server. The
// server listens on a Unix socket in its data folder (mode 0600, so only
// the account that runs it can connect) and speaks JSON over HTTP; Client
// is the CLI's side. Both sides act through activitypub.Instance, so an
// admin command does the same whether the server is running or not.
package adminapi
