// Package shell is `gatehouse shell`: flags and sign-in, the interactive
// read-eval-print loop on a terminal (line editing, Tab completion of
// cmdlets, parameters, variables, paths and identities, history, the
// password prompt without echo) and the non-interactive modes (-c, a
// script file, a script on stdin). It runs what it reads in a
// cmdlet.Session with the Exchange cmdlets, calling the server through the
// REST client; it touches no server package.
package shell
