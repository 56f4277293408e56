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
                    "check",
                    "trap"
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
                },
                "trap": {
                  "type": "Trap",
                  "id": 8
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
            "Trap": {
              "fields": {
                "count": {
                  "type": "uint32",
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
                "timeline": {
                  "type": "TimelineState",
                  "id": 8
                }
              },
              "reserved": [
                [
                  4,
                  4
                ],
                [
                  7,
                  7
                ],
                "state_json",
                "progress"
              ]
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
            },
            "TimelineState": {
              "fields": {
                "scheduler": {
                  "type": "SchedulerState",
                  "id": 1
                },
                "harts": {
                  "rule": "repeated",
                  "type": "HartTimelineState",
                  "id": 2
                },
                "progress": {
                  "type": "bytes",
                  "id": 3
                },
                "clockSkipped": {
                  "type": "uint64",
                  "id": 4,
                  "protoName": "clock_skipped"
                },
                "consoleBytes": {
                  "type": "uint64",
                  "id": 5,
                  "protoName": "console_bytes"
                },
                "current": {
                  "type": "uint32",
                  "id": 6
                }
              }
            },
            "SchedulerState": {
              "fields": {
                "live": {
                  "rule": "repeated",
                  "type": "uint32",
                  "id": 1
                },
                "index": {
                  "type": "uint32",
                  "id": 2
                },
                "moved": {
                  "type": "bool",
                  "id": 3
                },
                "turn": {
                  "type": "SchedulerTurn",
                  "id": 4
                }
              }
            },
            "SchedulerTurn": {
              "fields": {
                "until": {
                  "type": "uint64",
                  "id": 1
                },
                "before": {
                  "type": "uint64",
                  "id": 2
                },
                "releasedBefore": {
                  "type": "uint64",
                  "id": 3,
                  "protoName": "released_before"
                }
              }
            },
            "HartTimelineState": {
              "fields": {
                "paused": {
                  "type": "bool",
                  "id": 1
                },
                "finished": {
                  "type": "bool",
                  "id": 2
                },
                "lines": {
                  "type": "uint32",
                  "id": 3
                },
                "icount": {
                  "type": "uint64",
                  "id": 4
                },
                "position": {
                  "type": "EventPosition",
                  "id": 5
                },
                "afterException": {
                  "type": "bool",
                  "id": 6,
                  "protoName": "after_exception"
                },
                "exceptionsInARow": {
                  "type": "uint32",
                  "id": 7,
                  "protoName": "exceptions_in_a_row"
                },
                "tlb": {
                  "type": "TlbState",
                  "id": 8
                },
                "afterInterrupt": {
                  "type": "bool",
                  "id": 9,
                  "protoName": "after_interrupt"
                }
              }
            },
            "TlbState": {
              "fields": {
                "epoch": {
                  "type": "uint32",
                  "id": 1
                },
                "lastEpoch": {
                  "type": "uint32",
                  "id": 2,
                  "protoName": "last_epoch"
                },
                "regime": {
                  "type": "sint32",
                  "id": 3
                },
                "regimes": {
                  "rule": "repeated",
                  "type": "RegimeEpoch",
                  "id": 4
                },
                "tags": {
                  "type": "bytes",
                  "id": 5
                },
                "epochs": {
                  "type": "bytes",
                  "id": 6
                },
                "phys": {
                  "type": "bytes",
                  "id": 7
                },
                "fast": {
                  "type": "bytes",
                  "id": 8
                },
                "levels": {
                  "type": "bytes",
                  "id": 9
                }
              }
            },
            "RegimeEpoch": {
              "fields": {
                "key": {
                  "type": "sint32",
                  "id": 1
                },
                "epoch": {
                  "type": "uint32",
                  "id": 2
                }
              }
            },
            "EventPosition": {
              "fields": {
                "consumed": {
                  "type": "uint64",
                  "id": 1
                },
                "next": {
                  "type": "sint64",
                  "id": 2
                },
                "replayer": {
                  "type": "ReplayerPosition",
                  "id": 3
                },
                "safePointsHere": {
                  "type": "uint64",
                  "id": 4,
                  "protoName": "safe_points_here"
                }
              }
            },
            "ReplayerPosition": {
              "fields": {
                "pendingTimes": {
                  "type": "uint32",
                  "id": 1,
                  "protoName": "pending_times"
                },
                "waitingForRelease": {
                  "type": "bool",
                  "id": 2,
                  "protoName": "waiting_for_release"
                }
              }
            }
          }
        }
      }
    }
  }
};
