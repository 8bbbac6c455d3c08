package api

import (
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
)

// TestRoutesSpeakWire pins the one statement of the JSON contract: every
// route's request body and answer is a type of package wire, and so is
// every struct inside them (time.Time aside), so that the shell's client,
// which decodes the same types, cannot drift from the server. A service
// view on the wire would fail here: convert it in convert.go.
func TestRoutesSpeakWire(t *testing.T) {
	wirePkg := reflect.TypeFor[wire.ResultBody]().PkgPath()
	a := New(Options{})
	checked := 0
	for _, rt := range a.routes {
		for what, v := range map[string]any{"body": rt.body, "response": rt.response} {
			if v == nil {
				continue
			}
			checked++
			seen := map[reflect.Type]bool{}
			var check func(reflect.Type, string)
			check = func(ty reflect.Type, at string) {
				switch ty.Kind() {
				case reflect.Pointer, reflect.Slice, reflect.Array:
					check(ty.Elem(), at)
					return
				case reflect.Map:
					t.Errorf("%s %s: the %s holds a map at %s; use a struct of package wire", rt.method, rt.path, what, at)
					return
				case reflect.Interface:
					t.Errorf("%s %s: the %s holds an interface at %s; use a type of package wire", rt.method, rt.path, what, at)
					return
				case reflect.Struct:
				default:
					return
				}
				if ty == reflect.TypeFor[time.Time]() || seen[ty] {
					return
				}
				seen[ty] = true
				if ty.PkgPath() != wirePkg {
					t.Errorf("%s %s: the %s holds %s at %s, not a type of package wire", rt.method, rt.path, what, ty, at)
					return
				}
				for i := range ty.NumField() {
					f := ty.Field(i)
					if f.IsExported() {
						check(f.Type, at+"."+f.Name)
					}
				}
			}
			check(reflect.TypeOf(v), reflect.TypeOf(v).String())
		}
	}
	if checked < 20 {
		t.Errorf("checked %d bodies and answers; the route table has more", checked)
	}
}
