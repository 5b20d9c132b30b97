// A registry passed by value to a helper: the helper locks its own copy of the mutex.
package main

import (
	"fmt"
	"sync"
)

type Registry struct {
	sync.Mutex
	names map[int]string
}

func register(r Registry, id int) {
	r.Lock()
	r.names[id] = fmt.Sprint("worker-", id) // want "MG007.*r.names.*passed by value"
	r.Unlock()
}

func main() {
	r := &Registry{names: map[int]string{}}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				register(*r, i*1000+j)
			}
		}()
	}
	wg.Wait()
	fmt.Println(len(r.names))
}
