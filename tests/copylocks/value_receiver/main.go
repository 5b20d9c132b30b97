// A counter with a value receiver: every call locks its own copy of the mutex and writes
// the map all copies share.
package main

import (
	"fmt"
	"sync"
)

type Counter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c Counter) Inc(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[k]++ // want "MG007.*c.counts.*value receiver"
}

func main() {
	c := Counter{counts: map[string]int{}}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 1000; j++ {
				c.Inc(fmt.Sprint(j % 3))
			}
		}()
	}
	wg.Wait()
	fmt.Println(len(c.counts))
}
