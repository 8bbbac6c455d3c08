//go:build race

package shell

// raceDetector is set when the tests run with -race, under which the
// embedded SQLite engine is some ten times slower: the end-to-end bulk
// test then uses fewer mailboxes.
const raceDetector = true
