// Package respond writes HTTP responses for every web surface: JSON bodies,
// and the one mapping from errors to status codes (Error). No other code
// chooses a status for an error.
package respond
