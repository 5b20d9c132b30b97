// A cache update copies the struct out of its pointer and locks the copy: every update
// locks a mutex of its own and writes the one map.
package main

import (
	"fmt"
	"sync"
)

type Cache struct {
	mu   sync.RWMutex
	data map[string]string
}

func update(p *Cache, k, v string) {
	c := *p
	c.mu.Lock()
	c.data[k] = v // want "MG007.*p.data.*holding `c.mu`.*copy of the struct"
	c.mu.Unlock()
}

func main() {
	c := &Cache{data: map[string]string{}}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 500; j++ {
				update(c, fmt.Sprint(j%10), "v")
			}
		}()
	}
	wg.Wait()
	fmt.Println(len(c.data))
}
