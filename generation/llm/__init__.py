"""Django-free LLM layer: job schemas, prompts, backends, batching engine and embeddings."""
