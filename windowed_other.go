//go:build !desktop

package main

// windowed: see windowed_desktop.go.
const windowed = false
