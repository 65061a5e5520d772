;; Edits the request headers through the ABI, to show the host's header map
;; semantics: replace leaves one value, remove removes all, add appends.
;; It also counts requests in a counter metric.
(module
  (import "env" "proxy_replace_header_map_value"
    (func $replace (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_remove_header_map_value"
    (func $remove (param i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value"
    (func $add (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_define_metric"
    (func $define_metric (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_increment_metric"
    (func $increment_metric (param i32 i64) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "b")
  (data (i32.const 101) "new")
  (data (i32.const 104) "C")
  (data (i32.const 105) "d")
  (data (i32.const 106) "1")
  (data (i32.const 110) "requests")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32)
    (i32.const 4096))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
    ;; A counter (type 0) named "requests"; its id goes to address 200.
    (drop (call $define_metric (i32.const 0) (i32.const 110) (i32.const 8) (i32.const 200)))
    (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $replace (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 101) (i32.const 3)))
    (drop (call $remove (i32.const 0) (i32.const 104) (i32.const 1)))
    (drop (call $add (i32.const 0) (i32.const 105) (i32.const 1) (i32.const 106) (i32.const 1)))
    (drop (call $increment_metric (i32.load (i32.const 200)) (i64.const 1)))
    (i32.const 0))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (i32.const 0))
  (func (export "proxy_on_done") (param i32) (result i32)
    (i32.const 1))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_delete") (param i32)))
