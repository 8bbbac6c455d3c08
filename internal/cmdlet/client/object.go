package client

import (
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
)

// Object turns a value of a wire type into the shell's object of type
// typeName, for the pipeline (Format-Table, Select-Object, Where-Object,
// Export-Csv): one property per JSON property, named and ordered as
// encoding/json writes the struct (its json tags, in field order), so
// that the shell shows what the server sends, in the order it sends it.
// This is the one place where the client's typed answers become generic
// shell values: strings, bool, int64, float64, time.Time, nil, []any and
// nested *cmdlet.Object, as the shell's JSON reader would make them.
func Object(typeName string, v any) *cmdlet.Object {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return cmdlet.NewObject(typeName)
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		// not a wire object: the value as the one property Value
		o := cmdlet.NewObject(typeName)
		if rv.IsValid() {
			o.Set("Value", shellValue(rv))
		}
		return o
	}
	o := structObject(rv)
	o.TypeName = typeName
	o.SetOrigin(rv.Interface())
	return o
}

// field is one JSON property of a struct.
type field struct {
	index     int
	name      string
	omitEmpty bool
}

// structInfo is what Object needs of a struct type: its JSON properties
// and, when none is omitempty (so every object has them all), their
// shared Shape.
type structInfo struct {
	fields []field
	shape  *cmdlet.Shape
}

var infoCache sync.Map // reflect.Type → *structInfo

// info returns the JSON properties of struct type t, as encoding/json
// names them (embedded structs are not used by package wire).
func info(t reflect.Type) *structInfo {
	if si, ok := infoCache.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{}
	omits := false
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" && opts == "" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		omit := strings.Contains(","+opts+",", ",omitempty,")
		omits = omits || omit
		si.fields = append(si.fields, field{index: i, name: name, omitEmpty: omit})
		names = append(names, name)
	}
	if shape := cmdlet.NewShape(names); !omits && shape.Len() == len(names) {
		si.shape = shape
	}
	infoCache.Store(t, si)
	return si
}

var timeType = reflect.TypeFor[time.Time]()

func structObject(rv reflect.Value) *cmdlet.Object {
	si := info(rv.Type())
	if si.shape != nil {
		values := make([]any, len(si.fields))
		for i, f := range si.fields {
			values[i] = shellValue(rv.Field(f.index))
		}
		return cmdlet.NewShapedObject("", si.shape, values)
	}
	o := cmdlet.NewObject("")
	for _, f := range si.fields {
		fv := rv.Field(f.index)
		if f.omitEmpty && emptyValue(fv) {
			continue
		}
		o.Set(f.name, shellValue(fv))
	}
	return o
}

// shellValue converts one value of a wire struct.
func shellValue(v reflect.Value) any {
	if v.Type() == timeType {
		return v.Interface().(time.Time)
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(v.Uint())
	case reflect.Float32, reflect.Float64:
		return v.Float()
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return shellValue(v.Elem())
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil
		}
		arr := make([]any, v.Len())
		for i := range arr {
			arr[i] = shellValue(v.Index(i))
		}
		return arr
	case reflect.Struct:
		return structObject(v)
	}
	return v.Interface()
}

// emptyValue is encoding/json's test for omitempty.
func emptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}
