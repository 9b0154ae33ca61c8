package authz

// The table of what each API checks, from Kafka's documentation
// ("Operations and Resources on Protocols") corrected where KafkaApis
// (the code, Kafka 3.9/4.0) differs from it; such rows say so in Note.
// The handlers wire it mechanically: for each Check whose When holds,
// authorize Operation on the request's resources of type Resource, in the
// way Scope says, and answer DeniedError(Resource) where it fails.

// Scope says how a check applies to a request.
type Scope int8

const (
	// ScopeRequest: one check on the request's single resource (the
	// cluster, or the one group or transactional id it names); denied,
	// the whole request answers the error.
	ScopeRequest Scope = iota
	// ScopeEach: one check per resource the request names; denied ones
	// answer the error in their own slot, the others proceed.
	ScopeEach
	// ScopeList: the answer lists only the resources that pass, silently
	// (no error for the others).
	ScopeList
	// ScopeAnyOfType: AuthorizeAny on the resource type
	// (authorizeByResourceType), no name involved.
	ScopeAnyOfType
)

var scopeNames = [...]string{"request", "each", "list", "any-of-type"}

func (s Scope) String() string { return name(scopeNames[:], int8(s)) }

// Check is one authorization an API makes.
type Check struct {
	Operation Operation
	Resource  ResourceType
	Scope     Scope
	// OrPrevious: this check is an alternative to the previous one; the
	// request passes if either allows (Kafka tries the previous first).
	OrPrevious bool
	// When is the condition under which the check applies ("" always).
	When string
}

// Requirement is an API's row.
type Requirement struct {
	Key    int16
	Name   string
	Checks []Check // none: served without authorization (ApiVersions, SASL)
	Note   string
}

var requirements = []Requirement{
	{0, "Produce", []Check{
		{OpWrite, ResourceTransactionalID, ScopeRequest, false, "transactional_id is set"},
		{OpWrite, ResourceTopic, ScopeEach, false, ""},
	}, "Kafka's table lists IDEMPOTENT_WRITE on the cluster; KafkaApis no longer checks it on Produce (InitProducerId does)"},
	{1, "Fetch", []Check{
		{OpClusterAction, ResourceCluster, ScopeRequest, false, "replica_id >= 0 (a follower)"},
		{OpRead, ResourceTopic, ScopeEach, false, "a consumer (replica_id < 0)"},
	}, "a denied follower answers TOPIC_AUTHORIZATION_FAILED on every partition, as KafkaApis does"},
	{2, "ListOffsets", []Check{{OpDescribe, ResourceTopic, ScopeEach, false, ""}}, ""},
	{3, "Metadata", []Check{
		{OpDescribe, ResourceTopic, ScopeEach, false, "named topics; when all topics are asked for, unauthorized ones are left out (ScopeList)"},
		{OpCreate, ResourceCluster, ScopeRequest, false, "auto-creating a named topic that does not exist"},
		{OpCreate, ResourceTopic, ScopeEach, true, "auto-creating a named topic that does not exist"},
		{OpDescribe, ResourceCluster, ScopeRequest, false, "include_cluster_authorized_operations (v8-v10): the field is filled only if allowed"},
	}, "topic_authorized_operations is AuthorizedOperations on each topic when asked for"},
	{8, "OffsetCommit", []Check{
		{OpRead, ResourceGroup, ScopeRequest, false, ""},
		{OpRead, ResourceTopic, ScopeEach, false, ""},
	}, ""},
	{9, "OffsetFetch", []Check{
		{OpDescribe, ResourceGroup, ScopeRequest, false, "per group in v8+"},
		{OpDescribe, ResourceTopic, ScopeEach, false, "named partitions the principal may not describe answer TOPIC_AUTHORIZATION_FAILED; asked for all (null topics), they are left out (ScopeList)"},
	}, ""},
	{10, "FindCoordinator", []Check{
		{OpDescribe, ResourceGroup, ScopeEach, false, "key_type 0 (group)"},
		{OpDescribe, ResourceTransactionalID, ScopeEach, false, "key_type 1 (transaction)"},
		{OpClusterAction, ResourceCluster, ScopeEach, false, "key_type 2 (share, v6+)"},
	}, "key_type 2 denied: CLUSTER_AUTHORIZATION_FAILED for each key (Kafka throws for the request, which answers every key with it)"},
	{11, "JoinGroup", []Check{{OpRead, ResourceGroup, ScopeRequest, false, ""}}, ""},
	{12, "Heartbeat", []Check{{OpRead, ResourceGroup, ScopeRequest, false, ""}}, ""},
	{13, "LeaveGroup", []Check{{OpRead, ResourceGroup, ScopeRequest, false, ""}}, ""},
	{14, "SyncGroup", []Check{{OpRead, ResourceGroup, ScopeRequest, false, ""}}, ""},
	{15, "DescribeGroups", []Check{{OpDescribe, ResourceGroup, ScopeEach, false, ""}}, "authorized_operations is AuthorizedOperations on each group when asked for"},
	{16, "ListGroups", []Check{
		{OpDescribe, ResourceCluster, ScopeRequest, false, "allowed: every group is listed"},
		{OpDescribe, ResourceGroup, ScopeList, true, ""},
	}, "never an error: without cluster DESCRIBE only the groups the principal may describe are listed"},
	{17, "SaslHandshake", nil, "authentication, before any principal"},
	{18, "ApiVersions", nil, "served before authentication"},
	{19, "CreateTopics", []Check{
		{OpCreate, ResourceCluster, ScopeRequest, false, ""},
		{OpCreate, ResourceTopic, ScopeEach, true, ""},
		{OpDescribeConfigs, ResourceTopic, ScopeEach, false, "the answer's configs: denied, topic_config_error_code is TOPIC_AUTHORIZATION_FAILED"},
	}, ""},
	{20, "DeleteTopics", []Check{{OpDelete, ResourceTopic, ScopeEach, false, ""}}, "as Kafka's ControllerApis, DELETE on the cluster (which only ALL grants: no ACL can name DELETE on CLUSTER) also allows every topic; a topic the principal may not DESCRIBE answers TOPIC_AUTHORIZATION_FAILED without saying whether it exists (by id: its name left out)"},
	{21, "DeleteRecords", []Check{{OpDelete, ResourceTopic, ScopeEach, false, ""}}, ""},
	{22, "InitProducerId", []Check{
		{OpWrite, ResourceTransactionalID, ScopeRequest, false, "transactional_id is set"},
		{OpIdempotentWrite, ResourceCluster, ScopeRequest, false, "no transactional_id"},
		{OpWrite, ResourceTopic, ScopeAnyOfType, true, "no transactional_id (KIP-679); denied: CLUSTER_AUTHORIZATION_FAILED"},
	}, ""},
	{23, "OffsetForLeaderEpoch", []Check{
		{OpClusterAction, ResourceCluster, ScopeRequest, false, ""},
		{OpDescribe, ResourceTopic, ScopeEach, true, ""},
	}, ""},
	{24, "AddPartitionsToTxn", []Check{
		{OpWrite, ResourceTransactionalID, ScopeRequest, false, "v0-3 (a client)"},
		{OpWrite, ResourceTopic, ScopeEach, false, "v0-3 (a client)"},
		{OpClusterAction, ResourceCluster, ScopeRequest, false, "v4+ (a broker verifying)"},
	}, "v0-3: a denied partition fails the whole transaction's partitions: the others answer OPERATION_NOT_ATTEMPTED"},
	{25, "AddOffsetsToTxn", []Check{
		{OpWrite, ResourceTransactionalID, ScopeRequest, false, ""},
		{OpRead, ResourceGroup, ScopeRequest, false, ""},
	}, ""},
	{26, "EndTxn", []Check{{OpWrite, ResourceTransactionalID, ScopeRequest, false, ""}}, ""},
	{27, "WriteTxnMarkers", []Check{
		{OpAlter, ResourceCluster, ScopeRequest, false, ""},
		{OpClusterAction, ResourceCluster, ScopeRequest, true, ""},
	}, ""},
	{28, "TxnOffsetCommit", []Check{
		{OpWrite, ResourceTransactionalID, ScopeRequest, false, ""},
		{OpRead, ResourceGroup, ScopeRequest, false, ""},
		{OpRead, ResourceTopic, ScopeEach, false, ""},
	}, ""},
	{29, "DescribeAcls", []Check{{OpDescribe, ResourceCluster, ScopeRequest, false, ""}}, "without an authorizer: SECURITY_DISABLED"},
	{30, "CreateAcls", []Check{{OpAlter, ResourceCluster, ScopeRequest, false, ""}}, "without an authorizer: SECURITY_DISABLED"},
	{31, "DeleteAcls", []Check{{OpAlter, ResourceCluster, ScopeRequest, false, ""}}, "without an authorizer: SECURITY_DISABLED"},
	{32, "DescribeConfigs", []Check{
		{OpDescribeConfigs, ResourceCluster, ScopeEach, false, "broker and broker-logger resources"},
		{OpDescribeConfigs, ResourceTopic, ScopeEach, false, "topic resources"},
		{OpDescribeConfigs, ResourceGroup, ScopeEach, false, "group resources"},
	}, ""},
	{33, "AlterConfigs", []Check{
		{OpAlterConfigs, ResourceCluster, ScopeEach, false, "broker and broker-logger resources"},
		{OpAlterConfigs, ResourceTopic, ScopeEach, false, "topic resources"},
		{OpAlterConfigs, ResourceGroup, ScopeEach, false, "group resources"},
	}, ""},
	{34, "AlterReplicaLogDirs", []Check{{OpAlter, ResourceCluster, ScopeRequest, false, ""}}, ""},
	{35, "DescribeLogDirs", []Check{{OpDescribe, ResourceCluster, ScopeRequest, false, ""}}, "denied: an empty answer with CLUSTER_AUTHORIZATION_FAILED"},
	{36, "SaslAuthenticate", nil, "authentication, before any principal"},
	{37, "CreatePartitions", []Check{{OpAlter, ResourceTopic, ScopeEach, false, ""}}, ""},
	{42, "DeleteGroups", []Check{{OpDelete, ResourceGroup, ScopeEach, false, ""}}, ""},
	{43, "ElectLeaders", []Check{{OpAlter, ResourceCluster, ScopeRequest, false, ""}}, "Kafka's table says CLUSTER_ACTION; KafkaApis checks ALTER"},
	{44, "IncrementalAlterConfigs", []Check{
		{OpAlterConfigs, ResourceCluster, ScopeEach, false, "broker and broker-logger resources"},
		{OpAlterConfigs, ResourceTopic, ScopeEach, false, "topic resources"},
		{OpAlterConfigs, ResourceGroup, ScopeEach, false, "group resources"},
	}, ""},
	{45, "AlterPartitionReassignments", []Check{{OpAlter, ResourceCluster, ScopeRequest, false, ""}}, ""},
	{46, "ListPartitionReassignments", []Check{{OpDescribe, ResourceCluster, ScopeRequest, false, ""}}, ""},
	{47, "OffsetDelete", []Check{
		{OpDelete, ResourceGroup, ScopeRequest, false, ""},
		{OpRead, ResourceTopic, ScopeEach, false, ""},
	}, ""},
	{48, "DescribeClientQuotas", []Check{{OpDescribeConfigs, ResourceCluster, ScopeRequest, false, ""}}, ""},
	{49, "AlterClientQuotas", []Check{{OpAlterConfigs, ResourceCluster, ScopeRequest, false, ""}}, ""},
	{50, "DescribeUserScramCredentials", []Check{{OpDescribe, ResourceCluster, ScopeRequest, false, ""}}, ""},
	{51, "AlterUserScramCredentials", []Check{{OpAlter, ResourceCluster, ScopeRequest, false, ""}}, ""},
	{55, "DescribeQuorum", []Check{{OpDescribe, ResourceCluster, ScopeRequest, false, ""}}, "forwarded to the active controller"},
	{57, "UpdateFeatures", []Check{{OpAlter, ResourceCluster, ScopeRequest, false, ""}}, "forwarded to the active controller"},
	{60, "DescribeCluster", []Check{
		{OpDescribe, ResourceCluster, ScopeRequest, false, "include_cluster_authorized_operations: the field is AuthorizedOperations if allowed, else 0"},
	}, "never an error"},
	{61, "DescribeProducers", []Check{{OpRead, ResourceTopic, ScopeEach, false, ""}}, ""},
	{65, "DescribeTransactions", []Check{
		{OpDescribe, ResourceTransactionalID, ScopeEach, false, ""},
		{OpDescribe, ResourceTopic, ScopeList, false, "the transaction's partitions in the answer"},
	}, ""},
	{66, "ListTransactions", []Check{{OpDescribe, ResourceTransactionalID, ScopeList, false, ""}}, ""},
	{68, "ConsumerGroupHeartbeat", []Check{{OpRead, ResourceGroup, ScopeRequest, false, ""}}, ""},
	{69, "ConsumerGroupDescribe", []Check{{OpDescribe, ResourceGroup, ScopeEach, false, ""}}, "Kafka's table says READ; KafkaApis checks DESCRIBE"},
	{75, "DescribeTopicPartitions", []Check{
		{OpDescribe, ResourceTopic, ScopeEach, false, "named topics; when all topics are asked for, unauthorized ones are left out (ScopeList)"},
	}, "topic_authorized_operations is AuthorizedOperations on each answered topic"},
	{74, "ListConfigResources", []Check{{OpDescribeConfigs, ResourceCluster, ScopeRequest, false, ""}}, ""},
	{76, "ShareGroupHeartbeat", []Check{
		{OpRead, ResourceGroup, ScopeRequest, false, ""},
		{OpDescribe, ResourceTopic, ScopeEach, false, "subscribed_topic_names is set: one denied topic fails the whole request"},
	}, "Kafka's table lists only READ on the group; KafkaApis also checks DESCRIBE on the subscribed topics"},
	{77, "ShareGroupDescribe", []Check{
		{OpDescribe, ResourceGroup, ScopeEach, false, ""},
		{OpDescribe, ResourceTopic, ScopeEach, false, "the topics of the group's assignments: one denied fails the group's slot, with nothing else of the group"},
	}, "Kafka's table says READ on the group; KafkaApis checks DESCRIBE on the group, then on the assigned topics"},
	{78, "ShareFetch", []Check{
		{OpRead, ResourceGroup, ScopeRequest, false, ""},
		{OpRead, ResourceTopic, ScopeEach, false, "the session's partitions and the acknowledged ones: TOPIC_AUTHORIZATION_FAILED per partition (AcknowledgeErrorCode for acknowledgements)"},
	}, ""},
	{79, "ShareAcknowledge", []Check{
		{OpRead, ResourceGroup, ScopeRequest, false, ""},
		{OpRead, ResourceTopic, ScopeEach, false, ""},
	}, ""},
	{83, "InitializeShareGroupState", []Check{{OpClusterAction, ResourceCluster, ScopeRequest, false, ""}}, "denied: every partition answers CLUSTER_AUTHORIZATION_FAILED"},
	{84, "ReadShareGroupState", []Check{{OpClusterAction, ResourceCluster, ScopeRequest, false, ""}}, "denied: every partition answers CLUSTER_AUTHORIZATION_FAILED"},
	{85, "WriteShareGroupState", []Check{{OpClusterAction, ResourceCluster, ScopeRequest, false, ""}}, "denied: every partition answers CLUSTER_AUTHORIZATION_FAILED"},
	{86, "DeleteShareGroupState", []Check{{OpClusterAction, ResourceCluster, ScopeRequest, false, ""}}, "denied: every partition answers CLUSTER_AUTHORIZATION_FAILED"},
	{87, "ReadShareGroupStateSummary", []Check{{OpClusterAction, ResourceCluster, ScopeRequest, false, ""}}, "denied: every partition answers CLUSTER_AUTHORIZATION_FAILED"},
	{90, "DescribeShareGroupOffsets", []Check{
		{OpDescribe, ResourceGroup, ScopeEach, false, ""},
		{OpDescribe, ResourceTopic, ScopeEach, false, "TOPIC_AUTHORIZATION_FAILED per partition"},
	}, ""},
	{91, "AlterShareGroupOffsets", []Check{
		{OpRead, ResourceGroup, ScopeRequest, false, ""},
		{OpRead, ResourceTopic, ScopeEach, false, "TOPIC_AUTHORIZATION_FAILED per partition"},
	}, ""},
	{92, "DeleteShareGroupOffsets", []Check{
		{OpDelete, ResourceGroup, ScopeRequest, false, ""},
		{OpRead, ResourceTopic, ScopeEach, false, "TOPIC_AUTHORIZATION_FAILED per topic"},
	}, ""},
}

var requirementByKey = func() map[int16]*Requirement {
	m := make(map[int16]*Requirement, len(requirements))
	for i := range requirements {
		m[requirements[i].Key] = &requirements[i]
	}
	return m
}()

// Required is the row of API key, and false for a key the table does not
// know (a handler must not serve an API without a row once an authorizer
// is configured). The returned Checks must not be modified.
func Required(key int16) (Requirement, bool) {
	r, ok := requirementByKey[key]
	if !ok {
		return Requirement{}, false
	}
	return *r, true
}

// Kafka's authorization error codes.
const (
	ErrCodeTopicAuthorizationFailed           int16 = 29
	ErrCodeGroupAuthorizationFailed           int16 = 30
	ErrCodeClusterAuthorizationFailed         int16 = 31
	ErrCodeSecurityDisabled                   int16 = 54
	ErrCodeTransactionalIDAuthorizationFailed int16 = 53
	ErrCodeDelegationTokenAuthorizationFailed int16 = 65
)

// DeniedError is the code a denial on a resource of type t answers
// (AclEntry.authorizationError); 0 for a type with none.
func DeniedError(t ResourceType) int16 {
	switch t {
	case ResourceTopic:
		return ErrCodeTopicAuthorizationFailed
	case ResourceGroup:
		return ErrCodeGroupAuthorizationFailed
	case ResourceCluster:
		return ErrCodeClusterAuthorizationFailed
	case ResourceTransactionalID:
		return ErrCodeTransactionalIDAuthorizationFailed
	case ResourceDelegationToken, ResourceUser:
		return ErrCodeDelegationTokenAuthorizationFailed
	}
	return 0
}
