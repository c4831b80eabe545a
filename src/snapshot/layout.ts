// The snapshot layout: raw vendor response bodies, one file per response, per vendor and user.
//
//   <snapshot>/zoom/users/page-0001.json                      GET /users
//   <snapshot>/zoom/users/<userId>/permissions.json           GET /users/{userId}/permissions
//   <snapshot>/zoom/roles/page-0001.json                      GET /roles
//   <snapshot>/zoom/roles/<roleId>/role.json                  GET /roles/{roleId}
//   <snapshot>/zoom/roles/<roleId>/members/page-0001.json     GET /roles/{roleId}/members
//   <snapshot>/vonage/users/page-0001.json                    GET /users
//   <snapshot>/vonage/users/<userId>/groups/page-0001.json    GET /users/{userId}/permissions/groups
//   <snapshot>/vonage/users/<userId>/accessPermissions/page-0001.json
//   <snapshot>/tuya/users/<uid>/permissions/page-0001.json    GET /v2.0/cloud/iam/permission/user/{uid}
//
// An id becomes a folder name with encodeIdSegment, so ids such as "../roles" or "a/b" stay one
// folder and can never point outside the snapshot.

/** Encodes an id as one safe path segment (percent-encoding, dots included). */
export function encodeIdSegment(id: string): string {
  return encodeURIComponent(id).replaceAll('.', '%2E').replaceAll('*', '%2A');
}

/** Decodes a folder name written by encodeIdSegment. */
export function decodeIdSegment(segment: string): string {
  return decodeURIComponent(segment);
}

export const pageFile = (n: number): string => `page-${String(n).padStart(4, '0')}.json`;
export const PAGE_FILE = /^page-\d+\.json$/;
