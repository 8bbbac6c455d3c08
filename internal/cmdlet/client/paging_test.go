package client

import (
	"errors"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
)

// TestListAnswerForms reads a page in the two forms the API answers
// listings with, and refuses an answer that is neither.
func TestListAnswerForms(t *testing.T) {
	for _, tc := range []struct {
		data      string
		names     []string
		more      bool
		next      string
		notList   bool
		typeError bool
	}{
		{data: `[{"Name":"a"},{"Name":"b"}]`, names: []string{"a", "b"}},
		{data: ` {"Items":[{"Name":"c"}],"Total":9,"Offset":0,"More":true,"NextCursor":"k"}`, names: []string{"c"}, more: true, next: "k"},
		{data: `null`},
		{data: `{"Items":null}`},
		{data: `42`, notList: true},
		{data: `"x"`, notList: true},
		{data: `{"Items":{"Name":"c"}}`, typeError: true},
	} {
		var page listAnswer[wire.RoleGroupMember]
		err := decodeAnswer([]byte(tc.data), &page)
		switch {
		case tc.notList:
			if !errors.Is(err, errNotList) {
				t.Errorf("%s: got error %v; want errNotList", tc.data, err)
			}
			continue
		case tc.typeError:
			if err == nil || errors.Is(err, errNotList) {
				t.Errorf("%s: got error %v; want the answer does not match the API", tc.data, err)
			}
			continue
		case err != nil:
			t.Errorf("%s: %v", tc.data, err)
			continue
		}
		var names []string
		for _, m := range page.Items {
			names = append(names, m.Name)
		}
		if len(names) != len(tc.names) || page.More != tc.more || page.NextCursor != tc.next {
			t.Errorf("%s: got %v more=%v next=%q; want %v more=%v next=%q", tc.data, names, page.More, page.NextCursor, tc.names, tc.more, tc.next)
			continue
		}
		for i := range names {
			if names[i] != tc.names[i] {
				t.Errorf("%s: got %v; want %v", tc.data, names, tc.names)
			}
		}
	}
}
