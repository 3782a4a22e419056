// datasets page: being built.
