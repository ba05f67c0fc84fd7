//go:build desktop

package main

// windowed is true in the app's builds (the desktop tag), which open a
// window. The build that Wails runs to generate the bindings (wails build,
// wails generate module) has no desktop tag: it opens none and must run
// without a display.
const windowed = true
