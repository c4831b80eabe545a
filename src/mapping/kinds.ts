import type { Vendor } from '../grants.js';

/** The grant kinds each vendor produces and the fields a rule can match and use in templates. */
export const KINDS: Readonly<Record<Vendor, Readonly<Record<string, readonly string[]>>>> = {
  zoom: { privilege: ['privilege', 'roleId', 'roleName'] },
  vonage: {
    group: ['groupPermission', 'groupId', 'groupDisplayId', 'groupName'],
    access: ['permissionLevel', 'permissionKey'],
  },
  tuya: {
    permission: ['permission_id', 'name', 'description', 'type', 'start_time', 'end_time', 'gmt_create'],
  },
};

/**
 * Grant kinds with temporary grants: when `field` is `value`, the grant holds only inside
 * [`from`, `until`). An allow rule that can match such a grant must take its window from those
 * fields (the loader refuses it otherwise), so a temporary grant never becomes a permanent one.
 */
export const TEMPORARY: Readonly<
  Partial<
    Record<Vendor, Readonly<Record<string, { field: string; value: string; from: string; until: string }>>>
  >
> = {
  tuya: { permission: { field: 'type', value: '1', from: 'start_time', until: 'end_time' } },
};
