// GENERATED from traces/events.proto by `node traces/gen-descriptor.mjs`: do not edit by hand.
// When you change events.proto, rerun that command; test/unit/trace-store.test.ts checks they agree.
// Embedded so that the compiled code needs no file lookup at run time.

export const EVENTS_PROTO_DESCRIPTOR = {
  "nested": {
    "hindsight": {
      "nested": {
        "trace": {
          "nested": {
            "EventBatch": {
              "fields": {
                "hart": {
                  "type": "uint32",
                  "id": 1
                },
                "baseIcount": {
                  "type": "uint64",
                  "id": 2,
                  "protoName": "base_icount"
                },
                "events": {
                  "rule": "repeated",
                  "type": "Event",
                  "id": 3
                }
              }
            },
            "Event": {
              "oneofs": {
                "kind": {
                  "oneof": [
                    "acquire",
                    "release",
                    "irq",
                    "time",
                    "input",
                    "check"
                  ]
                }
              },
              "fields": {
                "icountDelta": {
                  "type": "uint64",
                  "id": 1,
                  "protoName": "icount_delta"
                },
                "acquire": {
                  "type": "Acquire",
                  "id": 2
                },
                "release": {
                  "type": "Release",
                  "id": 3
                },
                "irq": {
                  "type": "Irq",
                  "id": 4
                },
                "time": {
                  "type": "Time",
                  "id": 5
                },
                "input": {
                  "type": "Input",
                  "id": 6
                },
                "check": {
                  "type": "Check",
                  "id": 7
                }
              }
            },
            "Acquire": {
              "fields": {
                "resource": {
                  "type": "uint32",
                  "id": 1
                },
                "write": {
                  "type": "bool",
                  "id": 2
                },
                "after": {
                  "rule": "repeated",
                  "type": "ReleaseRef",
                  "id": 3
                }
              }
            },
            "ReleaseRef": {
              "fields": {
                "hart": {
                  "type": "uint32",
                  "id": 1
                },
                "seq": {
                  "type": "uint64",
                  "id": 2
                }
              }
            },
            "Release": {
              "fields": {
                "resource": {
                  "type": "uint32",
                  "id": 1
                },
                "seq": {
                  "type": "uint64",
                  "id": 2
                }
              }
            },
            "Irq": {
              "fields": {
                "lines": {
                  "type": "uint32",
                  "id": 1
                }
              }
            },
            "Time": {
              "fields": {
                "value": {
                  "type": "uint64",
                  "id": 1
                }
              }
            },
            "Input": {
              "fields": {
                "bytes": {
                  "type": "bytes",
                  "id": 1
                }
              }
            },
            "Check": {
              "fields": {
                "hash": {
                  "type": "fixed64",
                  "id": 1
                }
              }
            },
            "Checkpoint": {
              "fields": {
                "format": {
                  "type": "uint32",
                  "id": 1
                },
                "toolVersion": {
                  "type": "string",
                  "id": 2,
                  "protoName": "tool_version"
                },
                "step": {
                  "type": "uint64",
                  "id": 3
                },
                "stateJson": {
                  "type": "string",
                  "id": 4,
                  "protoName": "state_json"
                },
                "regionPages": {
                  "rule": "repeated",
                  "type": "SnapshotPage",
                  "id": 5,
                  "protoName": "region_pages"
                },
                "ramPages": {
                  "rule": "repeated",
                  "type": "SnapshotPage",
                  "id": 6,
                  "protoName": "ram_pages"
                },
                "progress": {
                  "type": "bytes",
                  "id": 7
                }
              }
            },
            "SnapshotPage": {
              "fields": {
                "index": {
                  "type": "uint32",
                  "id": 1
                },
                "data": {
                  "type": "bytes",
                  "id": 2
                }
              }
            }
          }
        }
      }
    }
  }
};
