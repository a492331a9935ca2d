// Package blobs keeps files (media, avatars, cached remote attachments) on
// disk, each named by the SHA-256 of its content.
//
// Layout under the store's folder:
//
//	ab/cd/abcd…	one blob, named by its lower-case hex SHA-256
//	tmp/		files being written; leftovers older than an hour are
//			removed by Open
//
// Invariants:
//   - a blob's name is the hash of its content: blobs never change, and the
//     same content is stored once;
//   - a blob appears under its name complete or not at all: Put writes to
//     tmp/, syncs the file, renames it into place and syncs the folder;
//   - every hash from the outside is checked to be 64 lower-case hex digits
//     before it touches a path, so no name can leave the folder;
//   - shard folders (ab/, ab/cd/) are never removed while the store is
//     open, so a rename into them cannot race with their removal.
//
// blobs knows nothing of which record uses which blob: storage keeps the
// references, and a collector that removes unreferenced blobs should spare
// those modified recently (Walk reports modification times; Put refreshes
// that of a blob it finds already stored), so that a blob Put returned a
// moment ago is not removed before its reference is saved.
//
// blobs does no network I/O and imports nothing from Rhizome.
package blobs
