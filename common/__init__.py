"""What several rooms share and each may import: norms of perturbations, atomic files with
checksummed cards, per-image outcome masks, and quoting library errors. Imports nothing of `bench`, `attacks`, `zoo` or
`reports`, so any of them can use it without a cycle or a reach across the design's walls."""
