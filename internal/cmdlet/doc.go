// Package cmdlet is the interpreter of the admin shell: it runs the
// scripts that package syntax parses. It holds the values (Object,
// Hashtable, ScriptBlock, SecureString), the cmdlet registry and parameter
// binding (case-insensitive names, unambiguous prefixes, -Param:value,
// switches, pipeline input by value and by property name), the evaluation
// of pipelines and expressions, .NET methods and types, and the PowerShell
// cmdlets an admin needs besides Exchange's (Where-Object, Select-Object,
// Format-Table, Out-String, Import-/Export-Csv, Get-Content, ConvertTo- and
// ConvertFrom-Json, Start-Transcript, ...). Flow control (break, continue,
// return, throw, try/catch) travels as Go errors (control.go); functions
// and a script's param() block bind through the cmdlet binder
// (functions.go).
//
// A Session reaches a server only through the API interface (api.go); the
// Exchange cmdlets that call it are in package exchange, the REST client
// that implements it is Client (rest.go, paging.go), and the interactive
// shell that puts them together is package shell. None of them touches the
// store or the service layer: the shell speaks the server's REST API like
// any other client.
package cmdlet
