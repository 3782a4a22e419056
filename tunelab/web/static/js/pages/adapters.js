// adapters page: being built.
