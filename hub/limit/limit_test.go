package limit

import (
	"testing"
	"time"
)

func TestWithDefaults(t *testing.T) {
	got := Config{SendIdle: -1, MaxSendsPerAgency: 3}.WithDefaults()
	want := Defaults()
	want.SendIdle, want.MaxSendsPerAgency = -1, 3
	if got != want {
		t.Errorf("WithDefaults = %+v, want %+v", got, want)
	}
	if (Config{}).WithDefaults() != Defaults() {
		t.Error("the zero Config does not take the defaults")
	}
}

func TestPerKey(t *testing.T) {
	p := NewPerKey(2)
	r1, ok1 := p.Acquire("a")
	_, ok2 := p.Acquire("a")
	_, ok3 := p.Acquire("a")
	_, okB := p.Acquire("b")
	if !ok1 || !ok2 || ok3 || !okB {
		t.Fatalf("acquire a, a, a, b = %v %v %v %v; want true true false true", ok1, ok2, ok3, okB)
	}
	r1()
	r1() // a second release gives nothing back
	if p.Held("a") != 1 {
		t.Errorf("a holds %d after one release, want 1", p.Held("a"))
	}
	if _, ok := p.Acquire("a"); !ok {
		t.Error("a freed slot was not given again")
	}
	if _, ok := NewPerKey(-1).Acquire("a"); !ok {
		t.Error("an unbounded PerKey refused")
	}
}

func TestBudget(t *testing.T) {
	b := NewBudget(100)
	r60, _, ok := b.Reserve(60)
	if !ok {
		t.Fatal("60 of 100 refused")
	}
	if _, used, ok := b.Reserve(41); ok || used != 60 {
		t.Errorf("41 more = %v with %d used; want refused with 60 used", ok, used)
	}
	if _, _, ok := b.Reserve(40); !ok {
		t.Error("40 more (exactly full) refused")
	}
	r60()
	r60()
	if b.Used() != 40 {
		t.Errorf("used %d after releasing 60 twice, want 40", b.Used())
	}
}

func TestServerOptionsNoLimit(t *testing.T) {
	// Negative values are accepted (no limit / gRPC's own default), and
	// a zero handshake timeout never reaches gRPC, where it would close
	// every connection.
	c := Config{HandshakeTimeout: -1, MaxConnectionAge: -time.Second, MaxStreamsPerConn: -1}.WithDefaults()
	if n := len(c.ServerOptions()); n != 3 {
		t.Errorf("%d options, want 3 (no handshake timeout)", n)
	}
	if n := len(Defaults().ServerOptions()); n != 4 {
		t.Errorf("%d options by default, want 4", n)
	}
}

func TestIsPowerOfTen(t *testing.T) {
	for n, want := range map[int64]bool{1: true, 10: true, 1000: true, 0: false, 2: false, 20: false, 110: false} {
		if isPowerOfTen(n) != want {
			t.Errorf("isPowerOfTen(%d) = %v", n, !want)
		}
	}
}
