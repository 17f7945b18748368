// client-go's informers beside kachiku's in bench/informer.bench.ts: a dynamic informer
// (dynamicinformer, whole objects as unstructured JSON) or a metadata-only one
// (metadatainformer, PartialObjectMetadata), on one resource of one namespace. Prints one JSON
// object with what the benchmark reports for every implementation: initial sync time, RSS after
// a forced GC before starting and once synced, idle CPU, and the TCP sockets held to the
// apiserver. Both informers drop managedFields before caching, as kachiku's does by default.
//
//	informer -mode dynamic|metadata -kubeconfig FILE -namespace NS -group G -version V
//	         -resource R -objects N -idle SECONDS
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

type result struct {
	Impl           string  `json:"impl"`
	Objects        int     `json:"objects"`
	SyncSeconds    float64 `json:"syncSeconds"`
	RssBeforeMb    int     `json:"rssBeforeMb"`
	RssSyncedMb    int     `json:"rssSyncedMb"`
	IdleCPUPercent float64 `json:"idleCpuPercent"`
	Sockets        int     `json:"sockets"`
}

// rssAfterGC: the resident set after a forced GC that also returns freed memory to the OS,
// Go's counterpart of Node's gc() (V8 unmaps the pages a full GC frees).
func rssAfterGC() int {
	debug.FreeOSMemory()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fields := strings.Fields(s.Text()); len(fields) >= 2 && fields[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(fields[1])
			return int(math.Round(float64(kb) / 1024))
		}
	}
	return 0
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// socketsTo counts this process's established TCP sockets whose remote port is port.
func socketsTo(port int) int {
	inodes := map[string]bool{}
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		link, err := os.Readlink("/proc/self/fd/" + fd.Name())
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	n := 0
	for _, table := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		data, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "01" || !inodes[f[9]] {
				continue
			}
			remote := f[2][strings.LastIndex(f[2], ":")+1:]
			if p, err := strconv.ParseInt(remote, 16, 32); err == nil && int(p) == port {
				n++
			}
		}
	}
	return n
}

func main() {
	mode := flag.String("mode", "dynamic", "dynamic or metadata")
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file")
	ns := flag.String("namespace", "", "namespace")
	group := flag.String("group", "", "API group")
	version := flag.String("version", "v1", "API version")
	resource := flag.String("resource", "", "resource (plural)")
	objects := flag.Int("objects", 0, "objects expected in the cache")
	idle := flag.Int("idle", 30, "seconds of idle CPU measurement")
	flag.Parse()

	rssBefore := rssAfterGC()
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fail(err)
	}
	server, _ := url.Parse(cfg.Host)
	port, _ := strconv.Atoi(server.Port())
	gvr := schema.GroupVersionResource{Group: *group, Version: *version, Resource: *resource}
	// As kachiku's informer does by default: managedFields are not cached.
	dropManagedFields := func(obj interface{}) (interface{}, error) {
		if m, err := meta.Accessor(obj); err == nil {
			m.SetManagedFields(nil)
		}
		return obj, nil
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var informer cache.SharedIndexInformer
	var start func()
	impl := "client-go " + *mode + " informer"
	switch *mode {
	case "dynamic":
		client := dynamic.NewForConfigOrDie(cfg)
		f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(client, 0, *ns, nil)
		informer = f.ForResource(gvr).Informer()
		start = func() { f.Start(ctx.Done()) }
		impl = "client-go dynamicinformer"
	case "metadata":
		client := metadata.NewForConfigOrDie(cfg)
		f := metadatainformer.NewFilteredSharedInformerFactory(client, 0, *ns, nil)
		informer = f.ForResource(gvr).Informer()
		start = func() { f.Start(ctx.Done()) }
		impl = "client-go metadatainformer"
	default:
		fail(fmt.Errorf("unknown mode %q", *mode))
	}
	if err := informer.SetTransform(dropManagedFields); err != nil {
		fail(err)
	}

	t0 := time.Now()
	start()
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		fail(fmt.Errorf("cache did not sync"))
	}
	syncSeconds := time.Since(t0).Seconds()
	if n := len(informer.GetStore().ListKeys()); n != *objects {
		fail(fmt.Errorf("cache holds %d objects, expected %d", n, *objects))
	}
	rssSynced := rssAfterGC()
	sockets := socketsTo(port)
	c0 := cpuSeconds()
	time.Sleep(time.Duration(*idle) * time.Second)
	idleCPU := (cpuSeconds() - c0) / float64(*idle) * 100
	runtime.KeepAlive(informer)

	out, _ := json.Marshal(result{
		Impl:           impl,
		Objects:        *objects,
		SyncSeconds:    math.Round(syncSeconds*100) / 100,
		RssBeforeMb:    rssBefore,
		RssSyncedMb:    rssSynced,
		IdleCPUPercent: math.Round(idleCPU*10) / 10,
		Sockets:        sockets,
	})
	os.Stdout.Write(out)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "informer:", err)
	os.Exit(1)
}
