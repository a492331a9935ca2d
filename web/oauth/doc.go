// Package oauth is the OAuth 2 server Mastodon apps sign in through: app
// registration, the sign-in and consent page, tokens, revocation and the
// RFC 8414 metadata, plus the token and scope checks every API endpoint
// uses. Tokens and codes are stored only as SHA-256 hashes.
package oauth
