"""vizpert-bench's runner side: CLI, config, datasets, metrics, the grid runner and the results store."""
