// Package pages serves the HTML pages people open in a browser: the
// instance's front page and profile pages. Templates are embedded in the
// binary.
package pages
