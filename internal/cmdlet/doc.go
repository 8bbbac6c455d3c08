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
// A Session holds its connection to a server as an API (api.go), which the
// interpreter only checks for and names; the REST client that implements
// it is package client, the Exchange cmdlets that call the client's typed
// methods are package exchange, and the interactive shell that puts them
// together is package shell. The interpreter knows nothing of the REST
// contract (internal/api/wire). None of them touches the
// store or the service layer: the shell speaks the server's REST API like
// any other client.
package cmdlet
