// Preloaded into a measured process (`node --expose-gc --import ./bench/process-memory.mjs ...`):
// samples the heap every 100 ms and, at exit, writes one JSON line to stderr with the peak RSS
// (the kernel's figure), the sampled heap peak and the live heap after a full collection.
let peakHeap = 0;
const sample = () => {
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
};
setInterval(sample, 100).unref();
process.once('beforeExit', () => {
  sample();
  globalThis.gc?.();
  const mb = (x) => Math.round(x / 1048576);
  process.stderr.write(
    `${JSON.stringify({
      processMemory: {
        maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
        peakHeapMB: mb(peakHeap),
        liveHeapMB: mb(process.memoryUsage().heapUsed),
      },
    })}\n`,
  );
});
