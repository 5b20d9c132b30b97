// Command shortener is a small URL shortener with two map races that mapguard finds:
// visit counting under a read lock, and a janitor that prunes counters without any lock.
// Run it with `go run -race .` to see the race detector agree.
package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Store keeps short codes, their targets, and how often each was visited.
type Store struct {
	mu     sync.RWMutex
	links  map[string]string
	visits map[string]int
	next   int
}

func newStore() *Store {
	return &Store{links: map[string]string{}, visits: map[string]int{}}
}

// routes builds the HTTP API and starts the janitor that prunes stale counters.
func routes(s *Store, stop <-chan struct{}) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /shorten", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.next++
		code := fmt.Sprintf("c%d", s.next)
		s.links[code] = strings.TrimSpace(string(body))
		s.mu.Unlock()
		fmt.Fprintln(w, code)
	})
	mux.HandleFunc("GET /go/{code}", func(w http.ResponseWriter, r *http.Request) {
		code := r.PathValue("code")
		s.mu.RLock()
		target, ok := s.links[code]
		s.visits[code]++ // a write under the read lock: other readers hold it too
		s.mu.RUnlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.Redirect(w, r, target, http.StatusFound)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		fmt.Fprintf(w, "%d links\n", len(s.links))
	})
	go func() {
		ticker := time.NewTicker(time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ticker.C:
				for code, n := range s.visits { // no lock: handlers write concurrently
					if n > 100 {
						delete(s.visits, code)
					}
				}
			}
		}
	}()
	return mux
}

func main() {
	stop := make(chan struct{})
	srv := httptest.NewServer(routes(newStore(), stop))
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := client.Post(srv.URL+"/shorten", "text/plain", strings.NewReader("https://go.dev"))
	if err != nil {
		panic(err)
	}
	code, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Go(func() {
			for j := 0; j < 5; j++ {
				r, err := client.Get(srv.URL + "/go/" + strings.TrimSpace(string(code)))
				if err == nil {
					r.Body.Close()
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	wg.Wait()
	close(stop)
	fmt.Println("done")
}
