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
