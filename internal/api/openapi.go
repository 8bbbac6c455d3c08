package api

import (
	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"
)

var pathParam = regexp.MustCompile(`\{([a-z]+)\}`)

// OpenAPI returns the OpenAPI 3.0 document of the API, generated from the
// route table and the Go types of bodies and responses.
func (a *API) OpenAPI() map[string]any {
	paths := map[string]any{}
	schemas := map[string]any{}
	for _, rt := range a.routes {
		item, _ := paths[rt.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.path] = item
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range rt.query {
			params = append(params, map[string]any{"name": q.name, "in": "query", "description": q.doc, "schema": map[string]any{"type": q.typ}})
		}
		opn := map[string]any{
			"summary":     rt.summary,
			"operationId": operationID(rt),
			"responses": map[string]any{
				"default": map[string]any{"description": "an error", "content": jsonContent(ref(schemas, reflect.TypeOf(wire.ErrorBody{})))},
			},
		}
		if len(params) > 0 {
			opn["parameters"] = params
		}
		if !rt.public {
			opn["security"] = []any{map[string]any{"bearer": []any{}}, map[string]any{"cookie": []any{}}}
		}
		if rt.body != nil {
			opn["requestBody"] = map[string]any{"required": true, "content": jsonContent(ref(schemas, reflect.TypeOf(rt.body)))}
		}
		resp := map[string]any{"description": "success"}
		status := "200"
		if rt.response != nil {
			resp["content"] = jsonContent(ref(schemas, reflect.TypeOf(rt.response)))
		} else {
			status = "204"
		}
		if rt.method == "POST" && rt.path == "/api/v1/mailboxes" {
			status = "201"
		}
		opn["responses"].(map[string]any)[status] = resp
		item[strings.ToLower(rt.method)] = opn
	}
	paths["/api/v1/openapi.json"] = map[string]any{"get": map[string]any{"summary": "This document", "operationId": "openapi",
		"responses": map[string]any{"200": map[string]any{"description": "the OpenAPI document"}}}}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "Gatehouse REST API", "version": "1",
			"description": "Mailboxes and their POP3/IMAP4 access, the CAS mailbox plan, security defaults, role groups, the admin audit log and the email apps usage report. Properties are named as the Exchange cmdlets show them. Errors are {\"error\": {\"code\", \"message\"}}."},
		"paths": paths,
		"components": map[string]any{
			"schemas": schemas,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer"},
				"cookie": map[string]any{"type": "apiKey", "in": "cookie", "name": CookieName},
			},
		},
	}
}

func operationID(rt route) string {
	id := strings.ToLower(rt.method)
	for _, part := range strings.Split(strings.TrimPrefix(rt.path, "/api/v1/"), "/") {
		part = strings.Trim(part, "{}")
		if part != "" {
			id += strings.ToUpper(part[:1]) + part[1:]
		}
	}
	return id
}

func jsonContent(schema any) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": schema}}
}

var (
	timeType         = reflect.TypeOf(time.Time{})
	nullableBoolType = reflect.TypeOf(wire.NullableBool{})
)

// ref returns a schema for t, adding named structs to schemas.
func ref(schemas map[string]any, t reflect.Type) any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == nullableBoolType:
		return map[string]any{"type": "boolean", "nullable": true}
	case t.Kind() == reflect.Pointer:
		s := ref(schemas, t.Elem())
		if m, ok := s.(map[string]any); ok {
			c := map[string]any{"nullable": true}
			for k, v := range m {
				c[k] = v
			}
			return c
		}
		return s
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		// A byte[] value (New-MigrationBatch -CSVData): base64 in JSON.
		return map[string]any{"type": "string", "format": "byte"}
	case t.Kind() == reflect.Slice:
		return map[string]any{"type": "array", "items": ref(schemas, t.Elem())}
	case t.Kind() == reflect.Bool:
		return map[string]any{"type": "boolean"}
	case t.Kind() == reflect.String:
		return map[string]any{"type": "string"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return map[string]any{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return map[string]any{"type": "number"}
	case t.Kind() == reflect.Struct:
		name := t.Name()
		if i := strings.Index(name, "["); i > 0 {
			// ListBody[pkg.T] → MailboxList
			elem := name[i+1 : len(name)-1]
			elem = elem[strings.LastIndex(elem, ".")+1:]
			name = elem + "List"
		}
		if _, ok := schemas[name]; !ok {
			schemas[name] = map[string]any{} // placeholder against recursion
			props := map[string]any{}
			var required []string
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				if !f.IsExported() {
					continue
				}
				jname := f.Name
				tag := f.Tag.Get("json")
				if n, _, _ := strings.Cut(tag, ","); n == "-" {
					continue
				} else if n != "" {
					jname = n
				}
				props[jname] = ref(schemas, f.Type)
				if !strings.Contains(tag, "omitempty") && !strings.Contains(tag, "omitzero") {
					required = append(required, jname)
				}
			}
			sort.Strings(required)
			schema := map[string]any{"type": "object", "properties": props}
			if len(required) > 0 {
				// OpenAPI 3.0 wants a required list to have an entry
				schema["required"] = required
			}
			schemas[name] = schema
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}
