"""The peers Kindling is measured against: cloud-init, cloud-utils growpart, dhclient."""
