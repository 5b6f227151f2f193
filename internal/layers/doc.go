// Package layers holds the test that enforces the dependency rules of
// docs/architecture.md: dependencies point down only. It has no code.
package layers
