export namespace desktop {
	
	export class OneTap {
	    displayName: string;
	    avatarUrl: string;
	    number?: string;
	
	    static createFrom(source: any = {}) {
	        return new OneTap(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.displayName = source["displayName"];
	        this.avatarUrl = source["avatarUrl"];
	        this.number = source["number"];
	    }
	}
	export class QR {
	    ref: string;
	    payload: string;
	    imageUrl: string;
	    // Go type: time
	    expiresAt: any;
	
	    static createFrom(source: any = {}) {
	        return new QR(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.ref = source["ref"];
	        this.payload = source["payload"];
	        this.imageUrl = source["imageUrl"];
	        this.expiresAt = this.convertValues(source["expiresAt"], null);
	    }
	
		convertValues(a: any, classs: any, asMap: boolean = false): any {
		    if (!a) {
		        return a;
		    }
		    if (a.slice && a.map) {
		        return (a as any[]).map(elem => this.convertValues(elem, classs));
		    } else if ("object" === typeof a) {
		        if (asMap) {
		            for (const key of Object.keys(a)) {
		                a[key] = new classs(a[key]);
		            }
		            return a;
		        }
		        return new classs(a);
		    }
		    return a;
		}
	}
	export class Scanner {
	    displayName: string;
	    avatarUrl: string;
	    matchCode?: string;
	
	    static createFrom(source: any = {}) {
	        return new Scanner(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.displayName = source["displayName"];
	        this.avatarUrl = source["avatarUrl"];
	        this.matchCode = source["matchCode"];
	    }
	}
	export class ServerInfo {
	    mode: string;
	    url: string;
	
	    static createFrom(source: any = {}) {
	        return new ServerInfo(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.mode = source["mode"];
	        this.url = source["url"];
	    }
	}
	export class Session {
	    displayName: string;
	    avatarUrl: string;
	    // Go type: time
	    signedInAt: any;
	    // Go type: time
	    expiresAt: any;
	    device: string;
	    app: string;
	    localIp: string;
	
	    static createFrom(source: any = {}) {
	        return new Session(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.displayName = source["displayName"];
	        this.avatarUrl = source["avatarUrl"];
	        this.signedInAt = this.convertValues(source["signedInAt"], null);
	        this.expiresAt = this.convertValues(source["expiresAt"], null);
	        this.device = source["device"];
	        this.app = source["app"];
	        this.localIp = source["localIp"];
	    }
	
		convertValues(a: any, classs: any, asMap: boolean = false): any {
		    if (!a) {
		        return a;
		    }
		    if (a.slice && a.map) {
		        return (a as any[]).map(elem => this.convertValues(elem, classs));
		    } else if ("object" === typeof a) {
		        if (asMap) {
		            for (const key of Object.keys(a)) {
		                a[key] = new classs(a[key]);
		            }
		            return a;
		        }
		        return new classs(a);
		    }
		    return a;
		}
	}
	export class View {
	    state: string;
	    server: ServerInfo;
	    qr?: QR;
	    scanner?: Scanner;
	    session?: Session;
	    oneTap?: OneTap;
	    message?: string;
	
	    static createFrom(source: any = {}) {
	        return new View(source);
	    }
	
	    constructor(source: any = {}) {
	        if ('string' === typeof source) source = JSON.parse(source);
	        this.state = source["state"];
	        this.server = this.convertValues(source["server"], ServerInfo);
	        this.qr = this.convertValues(source["qr"], QR);
	        this.scanner = this.convertValues(source["scanner"], Scanner);
	        this.session = this.convertValues(source["session"], Session);
	        this.oneTap = this.convertValues(source["oneTap"], OneTap);
	        this.message = source["message"];
	    }
	
		convertValues(a: any, classs: any, asMap: boolean = false): any {
		    if (!a) {
		        return a;
		    }
		    if (a.slice && a.map) {
		        return (a as any[]).map(elem => this.convertValues(elem, classs));
		    } else if ("object" === typeof a) {
		        if (asMap) {
		            for (const key of Object.keys(a)) {
		                a[key] = new classs(a[key]);
		            }
		            return a;
		        }
		        return new classs(a);
		    }
		    return a;
		}
	}

}

