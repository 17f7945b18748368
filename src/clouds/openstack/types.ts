// Octavia v2 resources as kachiku reads them (api-ref/source/v2; shared/reference/openstack.md).
// Only the fields the mirror uses; the client returns them with these names, as Octavia does.

export type ProvisioningStatus =
  'ACTIVE' | 'DELETED' | 'ERROR' | 'PENDING_CREATE' | 'PENDING_UPDATE' | 'PENDING_DELETE';
export type OperatingStatus =
  'ONLINE' | 'DRAINING' | 'OFFLINE' | 'DEGRADED' | 'ERROR' | 'NO_MONITOR';

export interface OctaviaLoadBalancer {
  id: string;
  name: string;
  project_id: string;
  vip_address: string;
  admin_state_up: boolean;
  provisioning_status: ProvisioningStatus;
  operating_status: OperatingStatus;
  listeners: { id: string }[];
  pools: { id: string }[];
  tags?: string[];
  /** Set by every change to the load balancer or anything under it (whole seconds). */
  updated_at?: string | null;
}

export interface OctaviaListener {
  id: string;
  name: string;
  protocol: 'HTTP' | 'HTTPS' | 'TCP' | 'UDP' | 'SCTP' | 'TERMINATED_HTTPS' | 'PROMETHEUS';
  protocol_port: number;
  default_pool_id: string | null;
  admin_state_up: boolean;
  provisioning_status: ProvisioningStatus;
  connection_limit: number;
  allowed_cidrs: string[] | null;
  /** L7 policies: an NLB cannot mirror them; they are reported. */
  l7policies: { id: string }[];
}

export interface OctaviaPool {
  id: string;
  name: string;
  protocol: 'HTTP' | 'HTTPS' | 'PROXY' | 'PROXYV2' | 'SCTP' | 'TCP' | 'UDP';
  lb_algorithm: 'ROUND_ROBIN' | 'LEAST_CONNECTIONS' | 'SOURCE_IP' | 'SOURCE_IP_PORT';
  session_persistence: {
    type: 'SOURCE_IP' | 'HTTP_COOKIE' | 'APP_COOKIE';
    cookie_name?: string | null;
  } | null;
  healthmonitor_id: string | null;
  admin_state_up: boolean;
  provisioning_status: ProvisioningStatus;
  listeners: { id: string }[];
}

export interface OctaviaMember {
  id: string;
  name: string;
  address: string;
  protocol_port: number;
  weight: number;
  backup: boolean;
  admin_state_up: boolean;
  monitor_address: string | null;
  monitor_port: number | null;
  provisioning_status: ProvisioningStatus;
  operating_status: OperatingStatus;
}

export interface OctaviaHealthMonitor {
  id: string;
  type: 'HTTP' | 'HTTPS' | 'PING' | 'SCTP' | 'TCP' | 'TLS-HELLO' | 'UDP-CONNECT';
  delay: number;
  timeout: number;
  max_retries: number;
  max_retries_down: number;
  http_method?: string | null;
  url_path?: string | null;
  expected_codes?: string | null;
  admin_state_up: boolean;
  provisioning_status: ProvisioningStatus;
}

/** One load balancer read whole: what the mirror plans from. */
export interface OctaviaTree {
  loadBalancer: OctaviaLoadBalancer;
  listeners: OctaviaListener[];
  pools: (OctaviaPool & {
    members: OctaviaMember[];
    healthMonitor: OctaviaHealthMonitor | null;
    /**
     * The member ids the pool object itself lists (Octavia's pool answer carries them): checked
     * against the member list, which alone says nothing when it comes back short.
     */
    listedMemberIds?: string[];
  })[];
}
