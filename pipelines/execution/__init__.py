"""Running pipelines: profiles (config), the pipeline composing stages, executors, batches."""
