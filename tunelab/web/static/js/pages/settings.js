// settings page: being built.
