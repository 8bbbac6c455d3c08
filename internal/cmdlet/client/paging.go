package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
)

// listPage is how many objects List asks for at a time.
const listPage = 1000

// List reads a collection page by page and hands each object to each as
// its wire type T, up to limit objects (cmdlet.Unlimited: all); each may
// return an error (cmdlet.Stop) to end early. A page is a wire.ListBody
// or a plain JSON array; the next page is asked with ?cursor= and the
// continuation token the server gave, in NextCursor or in a Link header
// (rel="next"). The token names where the page ended, so a pipeline that
// removes or changes what it has been given (Get-Mailbox -ResultSize
// Unlimited | Remove-Mailbox) still gets every object. From a server that
// answers More without a token, the next page is asked by ?offset=.
//
// Objects are handed to each as their page arrives, so that a pipeline
// (Get-Mailbox -ResultSize Unlimited | Set-CASMailbox) starts working
// before the last page is read.
func List[T any](ctx context.Context, c *Client, coll Collection[T], q url.Values, limit int64, each func(T) error) error {
	q = cloneValues(q)
	var n, offset int64
	for {
		size := int64(listPage)
		if limit != cmdlet.Unlimited {
			size = min(size, limit-n)
		}
		q.Set("resultSize", strconv.FormatInt(size, 10))
		var page listAnswer[T]
		h, err := c.do(ctx, http.MethodGet, c.url(coll.Path, q), nil, &page)
		if errors.Is(err, errNotList) {
			return fmt.Errorf("the server's answer for %s is not a list", coll.Path)
		}
		if err != nil {
			return err
		}
		more, next := page.More, page.NextCursor
		if !more {
			next = ""
		}
		if next == "" {
			next = linkCursor(h)
		}
		more = more || next != ""
		for _, it := range page.Items {
			n++
			if err := each(it); err != nil {
				return err
			}
			if limit != cmdlet.Unlimited && n >= limit {
				return nil
			}
		}
		switch {
		case len(page.Items) == 0:
			return nil
		case next != "":
			q.Del("offset")
			q.Set("cursor", next)
		case more:
			offset += int64(len(page.Items))
			q.Set("offset", strconv.FormatInt(offset, 10))
		default:
			return nil
		}
	}
}

// errNotList is an answer to a listing that is neither a page nor an array.
var errNotList = errors.New("not a list")

// listAnswer is one page: a wire.ListBody, or a plain JSON array of the
// collections that do not page by body (role groups, the audit log).
type listAnswer[T any] struct {
	wire.ListBody[T]
}

// target picks where encoding/json decodes the answer into, by its first
// byte, so that the page is read in one pass.
func (a *listAnswer[T]) target(data []byte) (any, error) {
	t := bytes.TrimSpace(data)
	switch {
	case len(t) > 0 && t[0] == '[':
		return &a.Items, nil
	case len(t) > 0 && t[0] == '{', bytes.Equal(t, []byte("null")):
		return &a.ListBody, nil
	}
	return nil, errNotList
}

// linkCursor returns the cursor of the Link header's rel="next" URL.
func linkCursor(h http.Header) string {
	for _, l := range h.Values("Link") {
		for _, part := range strings.Split(l, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			isNext := false
			for _, p := range strings.Split(params, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "rel") && strings.EqualFold(strings.Trim(v, `"`), "next") {
					isNext = true
				}
			}
			if !isNext {
				continue
			}
			u, err := url.Parse(target[1 : len(target)-1])
			if err == nil {
				if cur := u.Query().Get("cursor"); cur != "" {
					return cur
				}
			}
		}
	}
	return ""
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}
