// train page: being built.
