;; A WebAssembly module that is not a proxy-wasm module: it exports no
;; proxy_abi_version_* function, so no host should drive it.
(module
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32)
    (i32.const 1024)))
