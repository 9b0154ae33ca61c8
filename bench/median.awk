# Median of `go test -bench -count N` output per benchmark name.
# usage: awk -f bench/median.awk bench.out
# Prints: name  median-MB/s  median-records/s (when reported)  runs
function median(arr, n,    i, j, t) {
  for (i = 2; i <= n; i++) { t = arr[i]; for (j = i - 1; j >= 1 && arr[j] > t; j--) arr[j+1] = arr[j]; arr[j+1] = t }
  return (n % 2) ? arr[(n+1)/2] : (arr[n/2] + arr[n/2+1]) / 2
}
/^Benchmark/ {
  name = $1; sub(/-[0-9]+$/, "", name)
  if (!(name in count)) order[++names] = name
  c = ++count[name]
  for (i = 3; i <= NF; i++) {
    if ($i == "MB/s") mb[name, c] = $(i-1)
    if ($i == "records/s") rec[name, c] = $(i-1)
    if ($i == "ns/op") ns[name, c] = $(i-1)
  }
}
END {
  for (k = 1; k <= names; k++) {
    name = order[k]; n = count[name]
    delete a; delete r; delete t
    for (i = 1; i <= n; i++) { a[i] = mb[name, i] + 0; r[i] = rec[name, i] + 0; t[i] = ns[name, i] + 0 }
    printf "%-70s %10.0f MB/s", name, median(a, n)
    if (rec[name, 1] != "") printf " %12.0f rec/s", median(r, n)
    printf " %14.0f ns/op  (n=%d)\n", median(t, n), n
  }
}
