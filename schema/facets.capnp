@0xf405d8951a2c8ea2;

# The facet index `<actor-id>.facets`: after an 8-byte magic, one record per facet, each an
# unpacked Cap'n Proto message (standard stream framing) holding a FacetEntry, followed by
# the CRC32 (IEEE) of that message's bytes, little-endian. Entries are only ever appended.

struct FacetEntry {
  # A facet of the object, identified by its parent and its name under that parent.

  id @0 :UInt32;
  # The facet's id: its database is `<actor-id>.<id>.sqlite`. The root is 0; facets get
  # 1, 2, … in the order they first start. Never reused for another (parent, name).

  parent @1 :UInt32;
  # The id of the parent facet (0: the root object).

  name @2 :Text;
  # The facet's name under its parent (1 to 128 characters, no '/', no control characters).
}
