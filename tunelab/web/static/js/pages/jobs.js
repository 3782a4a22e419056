// jobs page: being built.
