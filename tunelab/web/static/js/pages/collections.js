// collections page: being built.
